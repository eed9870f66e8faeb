package dev.peft4j.minilm;

import dev.peft4j.core.io.DType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;

/**
 * Parses an ONNX {@code TensorProto}: 1 dims, 2 data_type, 3 segment (rejected), 4 float_data, 5
 * int32_data, 6 string_data, 7 int64_data, 8 name, 9 raw_data, 10 double_data, 11 uint64_data, 13
 * external_data and 14 data_location (external data is rejected).
 *
 * <p>{@code raw_data} is referenced in place. Typed data fields are decoded into little-endian
 * bytes, but only after a counting pass has checked that they hold exactly the element count the
 * dims promise, so the allocation is bounded by the input's own size.
 */
final class OnnxTensorParser {

    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    /**
     * A parsed initializer.
     *
     * @param name the ONNX name
     * @param onnxType the ONNX data type
     * @param dims the dimensions as stored
     * @param offset for raw data: absolute offset of {@code raw_data} in the model bytes; for typed
     *     data: offset of the first typed data field
     * @param length the data's byte size ({@code numel * element size})
     * @param decoded the decoded little-endian bytes when the data came from a typed field, else
     *     {@code null}
     */
    record RawTensor(
            String name,
            OnnxDataType onnxType,
            long[] dims,
            int offset,
            int length,
            byte[] decoded) {

        /** @return the on-disk type */
        DType dtype() {
            return onnxType.dtype();
        }
    }

    private OnnxTensorParser() {}

    /**
     * Parses one {@code TensorProto}.
     *
     * @param r a reader over the message
     * @return the tensor
     * @throws OnnxFormatException when the tensor is malformed or unsupported
     */
    static RawTensor parse(ProtoReader r) throws OnnxFormatException {
        LongList dims = new LongList();
        long dataType = 0;
        String name = null;
        int[] raw = null;
        int typedField = 0;
        int typedOffset = -1;
        boolean external = false;
        boolean segment = false;
        while (r.hasRemaining()) {
            int at = r.position();
            int tag = r.readTag();
            int field = ProtoReader.fieldNumber(tag);
            int wire = ProtoReader.wireType(tag);
            switch (field) {
                case 1:
                    readDims(r, wire, dims);
                    break;
                case 2:
                    r.expectWireType(tag, ProtoReader.VARINT, "data_type");
                    dataType = r.readVarint();
                    break;
                case 3:
                    segment = true;
                    r.skip(wire);
                    break;
                case 4:
                case 5:
                case 6:
                case 7:
                case 10:
                case 11:
                    if (typedField != 0 && typedField != field) {
                        throw r.error(
                                "tensor has both "
                                        + typedFieldName(typedField)
                                        + " and "
                                        + typedFieldName(field));
                    }
                    if (typedField == 0) {
                        typedOffset = at;
                    }
                    typedField = field;
                    r.skip(wire);
                    break;
                case 8:
                    r.expectWireType(tag, ProtoReader.LEN, "name");
                    name = r.readString("tensor name");
                    break;
                case 9:
                    r.expectWireType(tag, ProtoReader.LEN, "raw_data");
                    if (raw != null) {
                        throw r.error("tensor has raw_data twice");
                    }
                    raw = r.readBytesRange();
                    break;
                case 13:
                    external = true;
                    r.skip(wire);
                    break;
                case 14:
                    r.expectWireType(tag, ProtoReader.VARINT, "data_location");
                    external |= r.readVarint() == 1;
                    break;
                default:
                    r.skip(wire);
            }
        }

        if (name == null || name.isEmpty()) {
            throw r.error("tensor has no name");
        }
        String t = "tensor '" + name + "'";
        if (external) {
            throw r.error(t + " stores its data externally, which is not supported");
        }
        if (segment) {
            throw r.error(t + " is segmented, which is not supported");
        }
        OnnxDataType type = checkType(r, t, dataType);
        long[] shape = dims.toArray();
        int elemSize = type.dtype().byteSize();
        long numel = numel(r, t, shape);
        long byteSize;
        try {
            byteSize = Math.multiplyExact(numel, elemSize);
        } catch (ArithmeticException e) {
            throw r.error(t + " with dims " + Arrays.toString(shape) + ": byte size overflows");
        }
        // The engine computes strides with zero dims counted as 1: [0, 2^62, 2^62] must fail here.
        try {
            long span = elemSize;
            for (long d : shape) {
                span = Math.multiplyExact(span, Math.max(d, 1));
            }
        } catch (ArithmeticException e) {
            throw r.error(
                    t
                            + " with dims "
                            + Arrays.toString(shape)
                            + ": dims overflow (even with zeros counted as 1)");
        }

        if (raw != null) {
            if (typedField != 0) {
                throw r.error(t + " has both raw_data and " + typedFieldName(typedField));
            }
            if (raw[1] != byteSize) {
                throw r.error(
                        String.format(
                                Locale.ROOT,
                                "raw_data of %s has %d bytes, expected %d (dims %s x %d bytes of"
                                        + " %s)",
                                t,
                                raw[1],
                                byteSize,
                                Arrays.toString(shape),
                                elemSize,
                                type));
            }
            return new RawTensor(name, type, shape, raw[0], raw[1], null);
        }
        if (typedField == 0) {
            if (numel == 0) {
                return new RawTensor(name, type, shape, r.position(), 0, new byte[0]);
            }
            throw r.error(t + " has no data (neither raw_data nor a typed data field)");
        }
        int expectedField = typedFieldFor(type);
        if (typedField != expectedField) {
            throw r.error(
                    t
                            + " of type "
                            + type
                            + " has "
                            + typedFieldName(typedField)
                            + ", expected "
                            + typedFieldName(expectedField));
        }
        long count = countValues(r.rewind(), typedField);
        if (count != numel) {
            throw r.error(
                    String.format(
                            Locale.ROOT,
                            "%s of %s has %d values, expected %d (dims %s)",
                            typedFieldName(typedField),
                            t,
                            count,
                            numel,
                            Arrays.toString(shape)));
        }
        if (byteSize > MAX_ARRAY) {
            throw r.error(t + " is too large for typed data (" + byteSize + " bytes)");
        }
        byte[] decoded = decode(r.rewind(), typedField, type, (int) byteSize);
        return new RawTensor(name, type, shape, typedOffset, decoded.length, decoded);
    }

    private static void readDims(ProtoReader r, int wire, LongList dims)
            throws OnnxFormatException {
        if (wire == ProtoReader.VARINT) {
            dims.add(r.readVarint());
        } else if (wire == ProtoReader.LEN) {
            ProtoReader packed = r.readMessage(r.context() + ".dims");
            while (packed.hasRemaining()) {
                dims.add(packed.readVarint());
            }
        } else {
            throw r.error("field dims has wire type " + wire + ", expected 0 or 2");
        }
    }

    private static OnnxDataType checkType(ProtoReader r, String t, long code)
            throws OnnxFormatException {
        if (code == 0) {
            throw r.error(t + " has no data type");
        }
        OnnxDataType type = OnnxDataType.fromCode(code);
        if (type == null) {
            throw r.error(
                    t
                            + " has unknown ONNX data type "
                            + code
                            + " (supported: "
                            + OnnxDataType.SUPPORTED
                            + ")");
        }
        if (type.dtype() == null) {
            throw r.error(
                    t
                            + " has unsupported ONNX data type "
                            + type
                            + " ("
                            + code
                            + "); supported: "
                            + OnnxDataType.SUPPORTED);
        }
        return type;
    }

    private static long numel(ProtoReader r, String t, long[] shape) throws OnnxFormatException {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw r.error(
                        t + " has negative dimension " + d + " in dims " + Arrays.toString(shape));
            }
        }
        try {
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
        } catch (ArithmeticException e) {
            throw r.error(t + " with dims " + Arrays.toString(shape) + ": element count overflows");
        }
        return n;
    }

    private static int typedFieldFor(OnnxDataType type) {
        switch (type) {
            case FLOAT:
                return 4;
            case DOUBLE:
                return 10;
            case INT64:
                return 7;
            default:
                return 5; // INT32, INT16, INT8, UINT8, BOOL, FLOAT16, BFLOAT16
        }
    }

    private static String typedFieldName(int field) {
        switch (field) {
            case 4:
                return "float_data";
            case 5:
                return "int32_data";
            case 6:
                return "string_data";
            case 7:
                return "int64_data";
            case 10:
                return "double_data";
            case 11:
                return "uint64_data";
            default:
                return "field " + field;
        }
    }

    /** Counts the values of the typed field, validating packing, before anything is allocated. */
    private static long countValues(ProtoReader r, int typedField) throws OnnxFormatException {
        int fixedSize = typedField == 4 ? 4 : typedField == 10 ? 8 : 0;
        long count = 0;
        while (r.hasRemaining()) {
            int tag = r.readTag();
            int wire = ProtoReader.wireType(tag);
            if (ProtoReader.fieldNumber(tag) != typedField) {
                r.skip(wire);
                continue;
            }
            String what = typedFieldName(typedField);
            if (wire == ProtoReader.LEN) {
                ProtoReader packed = r.readMessage(r.context() + "." + what);
                if (fixedSize > 0) {
                    int len = packed.remaining();
                    if (len % fixedSize != 0) {
                        throw r.error(
                                "packed "
                                        + what
                                        + " has "
                                        + len
                                        + " bytes, not a multiple of "
                                        + fixedSize);
                    }
                    count += len / fixedSize;
                } else {
                    while (packed.hasRemaining()) {
                        packed.readVarint();
                        count++;
                    }
                }
            } else {
                int expected =
                        fixedSize == 4
                                ? ProtoReader.FIXED32
                                : fixedSize == 8 ? ProtoReader.FIXED64 : ProtoReader.VARINT;
                r.expectWireType(tag, expected, what);
                r.skip(wire);
                count++;
            }
        }
        return count;
    }

    private static byte[] decode(ProtoReader r, int typedField, OnnxDataType type, int byteSize)
            throws OnnxFormatException {
        ByteBuffer out = ByteBuffer.allocate(byteSize).order(ByteOrder.LITTLE_ENDIAN);
        while (r.hasRemaining()) {
            int tag = r.readTag();
            int wire = ProtoReader.wireType(tag);
            if (ProtoReader.fieldNumber(tag) != typedField) {
                r.skip(wire);
                continue;
            }
            if (wire == ProtoReader.LEN) {
                ProtoReader packed = r.readMessage(r.context());
                while (packed.hasRemaining()) {
                    putValue(packed, typedField, type, out);
                }
            } else {
                putValue(r, typedField, type, out);
            }
        }
        return out.array();
    }

    private static void putValue(ProtoReader r, int typedField, OnnxDataType type, ByteBuffer out)
            throws OnnxFormatException {
        switch (typedField) {
            case 4:
                out.putInt(r.readFixed32());
                return;
            case 10:
                out.putLong(r.readFixed64());
                return;
            case 7:
                out.putLong(r.readVarint());
                return;
            default:
                break;
        }
        long v = r.readVarint();
        switch (type) {
            case INT32:
                out.putInt((int) v);
                break;
            case INT16:
            case FLOAT16:
            case BFLOAT16:
                out.putShort((short) v);
                break;
            default: // INT8, UINT8, BOOL
                out.put((byte) v);
        }
    }

    /** A growable list of primitive longs. */
    private static final class LongList {
        private long[] values = new long[8];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
