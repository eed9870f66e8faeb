package dev.peft4j.quant;

/**
 * Dequantization of a {@link QuantizedTensor} in Java: value {@code i} is {@code code[q_i] *
 * absmax[i / blocksize]} in float32, where the absmax is the stored float32 scale or, with double
 * quantization, {@code code8[q8] * absmax2[block / 256] + offset}. This is the reference the
 * device path ({@link NDArrayDequantizer}) is tested against.
 */
public final class BlockwiseDequantizer {

    private BlockwiseDequantizer() {}

    /**
     * @param tensor a quantized tensor
     * @return its float32 values in row-major order
     */
    public static float[] dequantize(QuantizedTensor tensor) {
        QuantState state = tensor.state();
        int n = Math.toIntExact(state.numel());
        int bs = state.blocksize();
        float[] absmax = state.blockAbsmax();
        QuantType type = state.quantType();
        float[] code = type.code();
        byte[] packed = tensor.packedArray();
        float[] out = new float[n];
        for (int i = 0; i + 1 < n; i += 2) {
            int b = packed[i >>> 1];
            float a = absmax[i / bs];
            out[i] = code[(b >>> 4) & 0xF] * a;
            out[i + 1] = code[b & 0xF] * a;
        }
        if ((n & 1) != 0) {
            out[n - 1] = code[(packed[(n - 1) >>> 1] >>> 4) & 0xF] * absmax[(n - 1) / bs];
        }
        return out;
    }
}
