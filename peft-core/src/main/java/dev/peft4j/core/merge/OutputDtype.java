package dev.peft4j.core.merge;

import dev.peft4j.core.io.DType;

import java.util.Locale;

/**
 * The floating type of a streamed export: each tensor's own stored type (as transformers'
 * {@code merge_and_unload} keeps the base's {@code torch_dtype}), or one of float32, bfloat16,
 * float16 for every floating tensor. Non-floating tensors are copied as they are.
 */
public enum OutputDtype {
    /** Each tensor keeps the type it has in the base checkpoint. */
    BASE(null),
    /** float32. */
    F32(DType.F32),
    /** bfloat16 (rounded to nearest even in Java). */
    BF16(DType.BF16),
    /** float16 (rounded to nearest even in Java). */
    F16(DType.F16);

    private final DType dtype;

    OutputDtype(DType dtype) {
        this.dtype = dtype;
    }

    /**
     * @param stored a tensor's type in the base
     * @return the type it is written with
     */
    public DType resolve(DType stored) {
        if (dtype == null || !stored.isFloating()) {
            return stored;
        }
        return dtype;
    }

    /**
     * @param name {@code base}, {@code f32}/{@code float32}, {@code bf16}/{@code bfloat16}, {@code f16}/{@code float16}
     * @return the type
     * @throws IllegalArgumentException naming the value and the choices
     */
    public static OutputDtype parse(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "base":
                return BASE;
            case "f32":
            case "float32":
                return F32;
            case "bf16":
            case "bfloat16":
                return BF16;
            case "f16":
            case "float16":
                return F16;
            default:
                throw new IllegalArgumentException("unknown output dtype '" + name + "' (base, f32, bf16, f16)");
        }
    }

    /**
     * @param stored the base's type
     * @return the {@code torch_dtype} name of the written type, e.g. {@code bfloat16}
     */
    public static String torchName(DType stored) {
        return switch (stored) {
            case F32 -> "float32";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F64 -> "float64";
            default -> stored.name().toLowerCase(Locale.ROOT);
        };
    }
}
