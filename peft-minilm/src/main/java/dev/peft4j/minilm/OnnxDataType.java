package dev.peft4j.minilm;

import dev.peft4j.core.io.DType;

/**
 * ONNX {@code TensorProto.DataType} codes and the {@link DType} each maps to; {@code null} for the
 * types this reader refuses (strings, unsigned 16/32/64-bit, complex, 8- and 4-bit floats and
 * integers).
 */
enum OnnxDataType {
    UNDEFINED(0, null),
    FLOAT(1, DType.F32),
    UINT8(2, DType.U8),
    INT8(3, DType.I8),
    UINT16(4, null),
    INT16(5, DType.I16),
    INT32(6, DType.I32),
    INT64(7, DType.I64),
    STRING(8, null),
    BOOL(9, DType.BOOL),
    FLOAT16(10, DType.F16),
    DOUBLE(11, DType.F64),
    UINT32(12, null),
    UINT64(13, null),
    COMPLEX64(14, null),
    COMPLEX128(15, null),
    BFLOAT16(16, DType.BF16),
    FLOAT8E4M3FN(17, null),
    FLOAT8E4M3FNUZ(18, null),
    FLOAT8E5M2(19, null),
    FLOAT8E5M2FNUZ(20, null),
    UINT4(21, null),
    INT4(22, null),
    FLOAT4E2M1(23, null);

    /** The supported types, for messages. */
    static final String SUPPORTED =
            "FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32, INT16, INT8, UINT8, BOOL";

    private final int code;
    private final DType dtype;

    OnnxDataType(int code, DType dtype) {
        this.code = code;
        this.dtype = dtype;
    }

    /** @return the ONNX code */
    int code() {
        return code;
    }

    /** @return the on-disk type, or {@code null} when unsupported */
    DType dtype() {
        return dtype;
    }

    /**
     * @param code an ONNX data type code
     * @return the type, or {@code null} when the code is unknown
     */
    static OnnxDataType fromCode(long code) {
        for (OnnxDataType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
