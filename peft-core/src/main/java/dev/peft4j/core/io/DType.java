package dev.peft4j.core.io;

import ai.djl.ndarray.types.DataType;

import java.util.Locale;

/**
 * Element types of tensors on disk, named as in the safetensors header.
 *
 * <p>Some types have no safe DJL counterpart: a BF16 or INT16 NDArray aborts the JVM on DJL's
 * PyTorch engine. {@link #djlType()} returns the type the tensor becomes when loaded (BF16 becomes
 * F32, I16 becomes I32), never one of the unsafe types.
 */
public enum DType {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    BF16(2, DataType.FLOAT32),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I16(2, DataType.INT32),
    I8(1, DataType.INT8),
    U8(1, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN);

    private final int byteSize;
    private final DataType djlType;

    DType(int byteSize, DataType djlType) {
        this.byteSize = byteSize;
        this.djlType = djlType;
    }

    /** @return bytes per element on disk */
    public int byteSize() {
        return byteSize;
    }

    /** @return the DJL type a loaded tensor of this type has (always one that is safe in DJL) */
    public DataType djlType() {
        return djlType;
    }

    /** @return true when the bytes on disk can be handed to DJL unchanged */
    public boolean isZeroCopy() {
        return this != BF16 && this != I16;
    }

    /** @return true for F64, F32, F16 and BF16 */
    public boolean isFloating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /**
     * Parses a safetensors dtype name.
     *
     * @param name the header's dtype string, e.g. {@code "BF16"}
     * @return the type
     * @throws IllegalArgumentException naming the dtype when it is unknown or unsupported
     */
    public static DType fromSafetensors(String name) {
        if (name != null) {
            for (DType t : values()) {
                if (t.name().equals(name)) {
                    return t;
                }
            }
        }
        throw new IllegalArgumentException(
                String.format(
                        Locale.ROOT,
                        "unknown or unsupported dtype '%s' (supported: F64, F32, F16, BF16, I64, I32,"
                                + " I16, I8, U8, BOOL)",
                        name));
    }

    /**
     * Maps a DJL type to the dtype that stores it.
     *
     * @param type a DJL type
     * @return the on-disk type
     * @throws IllegalArgumentException when the DJL type cannot be stored
     */
    public static DType fromDjl(DataType type) {
        switch (type) {
            case FLOAT64:
                return F64;
            case FLOAT32:
                return F32;
            case FLOAT16:
                return F16;
            case INT64:
                return I64;
            case INT32:
                return I32;
            case INT8:
                return I8;
            case UINT8:
                return U8;
            case BOOLEAN:
                return BOOL;
            default:
                throw new IllegalArgumentException("cannot store DJL data type " + type);
        }
    }
}
