package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;

import java.util.Objects;

/**
 * Rotary position embeddings in the "rotate half" layout of Hugging Face's Llama: the inverse
 * frequencies {@code 1 / theta^(2i/d)} (optionally {@link RopeScaling scaled}), cos/sin tables
 * computed in float32 from explicit position ids, and their application to queries and keys.
 */
public final class RotaryEmbedding {

    private final int headDim;
    private final float[] invFreq;

    /**
     * @param headDim the rotated width (even)
     * @param theta the rotary base
     * @param scaling the long-context scaling
     */
    public RotaryEmbedding(int headDim, double theta, RopeScaling scaling) {
        this.headDim = headDim;
        this.invFreq = Objects.requireNonNull(scaling, "scaling").apply(defaultInverseFrequencies(headDim, theta));
    }

    /**
     * @param config a model configuration
     * @return the rotary embedding it describes
     */
    public static RotaryEmbedding of(LlamaConfig config) {
        return new RotaryEmbedding(config.headDim(), config.ropeTheta(), config.ropeScaling());
    }

    /**
     * Unscaled inverse frequencies as PyTorch computes them in float32: {@code 1 / theta^(2i/d)}
     * for {@code i = 0 .. d/2-1}.
     *
     * @param headDim the rotated width (even, positive)
     * @param theta the rotary base (positive)
     * @return {@code headDim / 2} inverse frequencies
     */
    public static float[] defaultInverseFrequencies(int headDim, double theta) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim must be even and positive, got " + headDim);
        }
        if (!(theta > 0)) {
            throw new IllegalArgumentException("rope theta must be positive, got " + theta);
        }
        float[] out = new float[headDim / 2];
        for (int i = 0; i < out.length; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            out[i] = 1f / (float) Math.pow(theta, exponent);
        }
        return out;
    }

    /** @return the (scaled) inverse frequencies, a copy */
    public float[] inverseFrequencies() {
        return invFreq.clone();
    }

    /** @return the rotated width */
    public int headDim() {
        return headDim;
    }

    /**
     * Computes the cos and sin tables for the given positions, in float32, then cast to
     * {@code dataType}. They are created in the position ids' manager, on their device.
     *
     * @param positionIds integer positions {@code [B, T]}
     * @param dataType the type of the queries and keys
     * @return cos and sin, each {@code [B, 1, T, headDim]}
     */
    public NDList cosSin(NDArray positionIds, DataType dataType) {
        NDArray inv = positionIds.getManager().create(invFreq);
        if (!inv.getDevice().equals(positionIds.getDevice())) {
            inv = inv.toDevice(positionIds.getDevice(), false);
        }
        NDArray freqs = positionIds.toType(DataType.FLOAT32, false).expandDims(2).mul(inv); // [B,T,d/2]
        NDArray emb = freqs.concat(freqs, 2).expandDims(1); // [B,1,T,d]
        NDArray cos = emb.cos();
        NDArray sin = emb.sin();
        if (dataType != DataType.FLOAT32) {
            cos = cos.toType(dataType, false);
            sin = sin.toType(dataType, false);
        }
        return new NDList(cos, sin);
    }

    /**
     * Rotates queries or keys: {@code x·cos + rotate_half(x)·sin}, with {@code rotate_half(x) =
     * [-x₂, x₁]} for the two halves of the last dimension.
     *
     * @param x {@code [B, heads, T, headDim]}
     * @param cos {@code [B, 1, T, headDim]}
     * @param sin {@code [B, 1, T, headDim]}
     * @return the rotated array, same shape as {@code x}
     */
    public static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        int last = x.getShape().dimension() - 1;
        long half = x.getShape().get(last) / 2;
        NDList halves = x.split(new long[] {half}, last);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), last);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
