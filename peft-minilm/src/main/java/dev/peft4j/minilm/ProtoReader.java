package dev.peft4j.minilm;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A bounds-checked reader of the protobuf wire format over a range of a {@link ByteBuffer}.
 *
 * <p>Only absolute reads are used, so the shared buffer is never modified and several readers may
 * work on it at once. Every length read from the input is checked against the bytes that remain
 * before anything is allocated, so a hostile length can neither exhaust memory nor index out of
 * bounds: all problems surface as {@link OnnxFormatException}s naming the source, the byte offset
 * and the {@code context} (the message path, e.g. {@code graph.initializer[3]}).
 *
 * <p>Groups (wire types 3 and 4, deprecated and unused by ONNX) are rejected.
 */
final class ProtoReader {

    /** Wire type of varints. */
    static final int VARINT = 0;

    /** Wire type of 8-byte little-endian values. */
    static final int FIXED64 = 1;

    /** Wire type of length-delimited values (strings, bytes, messages, packed repeated fields). */
    static final int LEN = 2;

    /** Wire type of 4-byte little-endian values. */
    static final int FIXED32 = 5;

    private static final int MAX_FIELD_NUMBER = (1 << 29) - 1;

    private final ByteBuffer buf;
    private final String source;
    private final String context;
    private final int start;
    private final int limit;
    private int pos;

    /**
     * Creates a reader of {@code buf[start, limit)}.
     *
     * @param buf the bytes (not modified; only absolute reads)
     * @param start the first byte
     * @param limit one past the last byte
     * @param source the model's name, for messages
     * @param context the message path, for messages
     */
    ProtoReader(ByteBuffer buf, int start, int limit, String source, String context) {
        if (start < 0 || limit < start || limit > buf.limit()) {
            throw new IllegalArgumentException("bad range [" + start + ", " + limit + ")");
        }
        this.buf = buf;
        this.start = start;
        this.pos = start;
        this.limit = limit;
        this.source = source;
        this.context = context;
    }

    /** @return a new reader over the same range, positioned at its start */
    ProtoReader rewind() {
        return new ProtoReader(buf, start, limit, source, context);
    }

    /** @return whether bytes remain before the limit */
    boolean hasRemaining() {
        return pos < limit;
    }

    /** @return the number of bytes before the limit */
    int remaining() {
        return limit - pos;
    }

    /** @return the absolute position of the next byte */
    int position() {
        return pos;
    }

    /** @return the message path this reader reads */
    String context() {
        return context;
    }

    /** @return the model's name */
    String source() {
        return source;
    }

    /**
     * Builds an exception naming the source, the problem and this reader's context.
     *
     * @param problem what is wrong
     * @return the exception, to throw
     */
    OnnxFormatException error(String problem) {
        return new OnnxFormatException(source, problem + " (in " + context + ")");
    }

    /**
     * Reads a field tag.
     *
     * @return the tag: field number {@code << 3 |} wire type
     * @throws OnnxFormatException on a truncated or invalid tag, or an unsupported wire type
     */
    int readTag() throws OnnxFormatException {
        int at = pos;
        long tag = readVarint();
        long field = tag >>> 3;
        int wireType = (int) (tag & 7);
        if (field < 1 || field > MAX_FIELD_NUMBER) {
            throw error("invalid field number " + field + " at byte " + at);
        }
        if (wireType == 3 || wireType == 4) {
            throw error("unsupported wire type " + wireType + " (group) at byte " + at);
        }
        if (wireType != VARINT && wireType != FIXED64 && wireType != LEN && wireType != FIXED32) {
            throw error("invalid wire type " + wireType + " at byte " + at);
        }
        return (int) tag;
    }

    /**
     * @param tag a tag from {@link #readTag()}
     * @return its field number
     */
    static int fieldNumber(int tag) {
        return tag >>> 3;
    }

    /**
     * @param tag a tag from {@link #readTag()}
     * @return its wire type
     */
    static int wireType(int tag) {
        return tag & 7;
    }

    /**
     * Reads a base-128 varint of at most 10 bytes.
     *
     * @return the value, as the 64 bits protobuf defines (negative for large unsigned values)
     * @throws OnnxFormatException when truncated or longer than 10 bytes
     */
    long readVarint() throws OnnxFormatException {
        int at = pos;
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) {
                throw error("truncated varint at byte " + at);
            }
            byte b = buf.get(pos++);
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw error("malformed varint (more than 10 bytes) at byte " + at);
    }

    /**
     * Reads a 4-byte little-endian value.
     *
     * @return the value
     * @throws OnnxFormatException when fewer than 4 bytes remain
     */
    int readFixed32() throws OnnxFormatException {
        require(4, "fixed32");
        int v = 0;
        for (int i = 3; i >= 0; i--) {
            v = (v << 8) | (buf.get(pos + i) & 0xff);
        }
        pos += 4;
        return v;
    }

    /**
     * Reads an 8-byte little-endian value.
     *
     * @return the value
     * @throws OnnxFormatException when fewer than 8 bytes remain
     */
    long readFixed64() throws OnnxFormatException {
        require(8, "fixed64");
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (buf.get(pos + i) & 0xff);
        }
        pos += 8;
        return v;
    }

    /**
     * Reads a length prefix and checks it against the remaining bytes; the position is left at the
     * start of the payload.
     *
     * @return the payload length
     * @throws OnnxFormatException when the length is negative or exceeds the remaining bytes
     */
    int readLength() throws OnnxFormatException {
        int at = pos;
        long len = readVarint();
        if (len < 0) {
            throw error("negative length " + len + " at byte " + at);
        }
        if (len > limit - pos) {
            throw error(
                    "length "
                            + len
                            + " at byte "
                            + at
                            + " exceeds the remaining "
                            + (limit - pos)
                            + " bytes");
        }
        return (int) len;
    }

    /**
     * Reads a length-delimited payload and returns a reader over it; this reader moves past it.
     *
     * @param childContext the payload's message path, for messages
     * @return a reader of the payload
     * @throws OnnxFormatException when the length is invalid
     */
    ProtoReader readMessage(String childContext) throws OnnxFormatException {
        int len = readLength();
        ProtoReader child = new ProtoReader(buf, pos, pos + len, source, childContext);
        pos += len;
        return child;
    }

    /**
     * Reads a length-delimited payload as a range of the underlying buffer, without copying.
     *
     * @return {@code {start, length}} of the payload
     * @throws OnnxFormatException when the length is invalid
     */
    int[] readBytesRange() throws OnnxFormatException {
        int len = readLength();
        int start = pos;
        pos += len;
        return new int[] {start, len};
    }

    /**
     * Reads a length-delimited UTF-8 string.
     *
     * @param what what the string is, for messages
     * @return the string
     * @throws OnnxFormatException when the length is invalid or the bytes are not valid UTF-8
     */
    String readString(String what) throws OnnxFormatException {
        int at = pos;
        int len = readLength();
        ByteBuffer slice = buf.slice(pos, len);
        pos += len;
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(slice)
                    .toString();
        } catch (CharacterCodingException e) {
            throw error("invalid UTF-8 in " + what + " at byte " + at);
        }
    }

    /**
     * Skips a field's value.
     *
     * @param wireType the field's wire type
     * @throws OnnxFormatException when the value is truncated
     */
    void skip(int wireType) throws OnnxFormatException {
        switch (wireType) {
            case VARINT:
                readVarint();
                break;
            case FIXED64:
                require(8, "fixed64");
                pos += 8;
                break;
            case LEN:
                int len = readLength(); // not "pos += readLength()": that adds to the old pos
                pos += len;
                break;
            case FIXED32:
                require(4, "fixed32");
                pos += 4;
                break;
            default:
                throw error("invalid wire type " + wireType + " at byte " + pos);
        }
    }

    /**
     * Checks that a field has the expected wire type.
     *
     * @param tag the field's tag
     * @param expected the wire type the schema defines
     * @param field the field's name, for messages
     * @throws OnnxFormatException when the wire type differs
     */
    void expectWireType(int tag, int expected, String field) throws OnnxFormatException {
        if (wireType(tag) != expected) {
            throw error(
                    "field "
                            + field
                            + " has wire type "
                            + wireType(tag)
                            + ", expected "
                            + expected);
        }
    }

    private void require(int n, String what) throws OnnxFormatException {
        if (limit - pos < n) {
            throw error("truncated " + what + " at byte " + pos);
        }
    }
}
