package dev.peft4j.quant.nn;

import ai.djl.ndarray.types.DataType;
import ai.djl.Device;
import dev.peft4j.quant.BlockwiseQuantizer;
import dev.peft4j.quant.QuantType;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How linear layers are quantized to 4 bits, with the meaning of transformers' {@code
 * BitsAndBytesConfig(load_in_4bit=True, ...)}.
 *
 * <pre>{@code
 * QuantizationConfig config = QuantizationConfig.builder()
 *         .setQuantType(QuantType.NF4)   // bnb_4bit_quant_type
 *         .optBlocksize(64)              // bitsandbytes' block size
 *         .optDoubleQuant(true)          // bnb_4bit_use_double_quant
 *         .optComputeDtype(null)         // bnb_4bit_compute_dtype; null: F32 on CPU, F16 on GPU
 *         .optSkipModules(List.of("lm_head", "classifier", "embeddings")) // llm_int8_skip_modules
 *         .build();
 * }</pre>
 *
 * <p>A module is skipped when one of the skip entries equals a run of whole segments of its dotted
 * path: {@code lm_head} skips {@code lm_head} and {@code model.lm_head}, {@code mlp.down_proj}
 * skips {@code model.layers.3.mlp.down_proj}, {@code classifier} skips {@code classifier.dense};
 * {@code proj} skips nothing in {@code o_proj}. Immutable.
 */
public final class QuantizationConfig {

    /** transformers' modules kept in full precision by default. */
    public static final List<String> DEFAULT_SKIP_MODULES =
            List.of("lm_head", "classifier", "embeddings");

    private final QuantType quantType;
    private final int blocksize;
    private final boolean doubleQuant;
    private final DataType computeDtype;
    private final List<String> skipModules;

    private QuantizationConfig(Builder b) {
        quantType = b.quantType;
        blocksize = b.blocksize;
        doubleQuant = b.doubleQuant;
        computeDtype = b.computeDtype;
        skipModules = List.copyOf(b.skipModules);
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return NF4 or FP4 */
    public QuantType quantType() {
        return quantType;
    }

    /** @return values per block */
    public int blocksize() {
        return blocksize;
    }

    /** @return whether block scales are double-quantized */
    public boolean isDoubleQuant() {
        return doubleQuant;
    }

    /** @return the compute dtype, empty for the device default ({@link #computeDtypeFor}) */
    public Optional<DataType> computeDtype() {
        return Optional.ofNullable(computeDtype);
    }

    /**
     * @param device where the layer computes
     * @return the configured compute dtype, else FLOAT16 on a GPU and FLOAT32 elsewhere
     */
    public DataType computeDtypeFor(Device device) {
        return computeDtypeFor(computeDtype, device);
    }

    static DataType computeDtypeFor(DataType configured, Device device) {
        if (configured != null) {
            return configured;
        }
        return device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    /** @return the skip entries */
    public List<String> skipModules() {
        return skipModules;
    }

    /**
     * @param modulePath a dotted module path
     * @return whether a skip entry matches whole segments of it
     */
    public boolean isSkipped(String modulePath) {
        String padded = "." + modulePath + ".";
        for (String s : skipModules) {
            if (padded.contains("." + s + ".")) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param originalDtype the torch name of the weights' dtype, recorded in the state
     * @return a quantizer with these settings
     */
    public BlockwiseQuantizer quantizer(String originalDtype) {
        return BlockwiseQuantizer.builder()
                .setQuantType(quantType)
                .optBlocksize(blocksize)
                .optDoubleQuant(doubleQuant)
                .optDtype(originalDtype)
                .build();
    }

    @Override
    public String toString() {
        return "QuantizationConfig[" + quantType.bnbName() + ", blocksize=" + blocksize
                + ", doubleQuant=" + doubleQuant + ", computeDtype="
                + (computeDtype == null ? "auto" : computeDtype) + ", skip=" + skipModules + "]";
    }

    /** Builder: {@code setQuantType} is required, the rest optional. */
    public static final class Builder {

        private QuantType quantType;
        private int blocksize = 64;
        private boolean doubleQuant = true;
        private DataType computeDtype;
        private List<String> skipModules = DEFAULT_SKIP_MODULES;

        private Builder() {}

        /**
         * @param quantType NF4 or FP4 (required)
         * @return this builder
         */
        public Builder setQuantType(QuantType quantType) {
            this.quantType = quantType;
            return this;
        }

        /**
         * @param blocksize values per block: 32, 64 (default), ..., 4096
         * @return this builder
         */
        public Builder optBlocksize(int blocksize) {
            this.blocksize = blocksize;
            return this;
        }

        /**
         * @param doubleQuant quantize the block scales to 8 bits too (default true)
         * @return this builder
         */
        public Builder optDoubleQuant(boolean doubleQuant) {
            this.doubleQuant = doubleQuant;
            return this;
        }

        /**
         * @param computeDtype FLOAT32 or FLOAT16; {@code null} (default) for FLOAT32 on CPU and
         *     FLOAT16 on GPU
         * @return this builder
         */
        public Builder optComputeDtype(DataType computeDtype) {
            this.computeDtype = computeDtype;
            return this;
        }

        /**
         * @param skipModules module names or dotted path fragments kept in full precision (default
         *     {@link #DEFAULT_SKIP_MODULES}); an empty list quantizes every linear layer
         * @return this builder
         */
        public Builder optSkipModules(List<String> skipModules) {
            this.skipModules = skipModules;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException naming the field that is missing or invalid
         */
        public QuantizationConfig build() {
            if (quantType == null) {
                throw new IllegalArgumentException(
                        "QuantizationConfig: quantType is required (setQuantType)");
            }
            try {
                BlockwiseQuantizer.builder().setQuantType(quantType).optBlocksize(blocksize).build();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("QuantizationConfig: " + e.getMessage(), e);
            }
            if (computeDtype != null
                    && computeDtype != DataType.FLOAT32
                    && computeDtype != DataType.FLOAT16) {
                throw new IllegalArgumentException(
                        "QuantizationConfig: computeDtype must be FLOAT32 or FLOAT16, got "
                                + computeDtype);
            }
            Objects.requireNonNull(skipModules, "QuantizationConfig: skipModules is null");
            for (String s : skipModules) {
                if (s == null || s.isEmpty() || s.startsWith(".") || s.endsWith(".")) {
                    throw new IllegalArgumentException(
                            "QuantizationConfig: skipModules entry '" + s
                                    + "' must be a module name or dotted path fragment");
                }
            }
            return new QuantizationConfig(this);
        }
    }
}
