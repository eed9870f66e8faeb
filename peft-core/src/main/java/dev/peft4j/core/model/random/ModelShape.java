package dev.peft4j.core.model.random;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The shape of a Llama-family decoder (Llama or Qwen2) and its Hugging Face {@code config.json}:
 * what {@link RandomCheckpoint} needs to write a checkpoint that {@code LlamaForCausalLM} and
 * transformers load.
 *
 * <p>The named shapes ({@link #named}) carry the {@code config.json} of their Hub model with
 * {@code torch_dtype} {@code bfloat16} (the dtype the random weights are written in). A custom
 * shape ({@link #builder()}) starts from the Llama-2 or Qwen2.5 config and overrides the sizes:
 *
 * <pre>{@code
 * ModelShape tiny = ModelShape.builder()
 *         .setModelType("qwen2")           // q/k/v biases and tied embeddings by default
 *         .setHiddenSize(256).setNumLayers(4)
 *         .setNumHeads(8).setNumKeyValueHeads(2)
 *         .setIntermediateSize(512).setVocabSize(1000)
 *         .build();
 * }</pre>
 */
public final class ModelShape {

    /** The named shapes {@link #named} knows. */
    public static final List<String> NAMES = List.of("llama-2-7b", "tinyllama-1.1b", "qwen2.5-0.5b");

    private final String name;
    private final String modelType;
    private final int hiddenSize;
    private final int numLayers;
    private final int numHeads;
    private final int numKeyValueHeads;
    private final int intermediateSize;
    private final int vocabSize;
    private final boolean qkvBias;
    private final boolean tieWordEmbeddings;
    private final ObjectNode config;

    private ModelShape(Builder b) {
        this.name = b.name;
        this.modelType = b.modelType;
        this.hiddenSize = b.hiddenSize;
        this.numLayers = b.numLayers;
        this.numHeads = b.numHeads;
        this.numKeyValueHeads = b.numKeyValueHeads;
        this.intermediateSize = b.intermediateSize;
        this.vocabSize = b.vocabSize;
        this.qkvBias = "qwen2".equals(modelType);
        this.tieWordEmbeddings = b.tieWordEmbeddings == null ? qkvBias : b.tieWordEmbeddings;
        this.config = buildConfig(b.maxPositionEmbeddings);
    }

    /**
     * @param name one of {@link #NAMES}
     * @return the shape with its Hub {@code config.json}
     * @throws IllegalArgumentException naming the known shapes for another name
     */
    public static ModelShape named(String name) {
        String n = name == null ? "" : name.toLowerCase(Locale.ROOT);
        return switch (n) {
            // meta-llama/Llama-2-7b-hf
            case "llama-2-7b" -> {
                ModelShape s = builder().setName(n).setModelType("llama").setHiddenSize(4096).setNumLayers(32)
                        .setNumHeads(32).setNumKeyValueHeads(32).setIntermediateSize(11008).setVocabSize(32000)
                        .optMaxPositionEmbeddings(4096).build();
                s.config.remove("attention_bias"); // written by later transformers than Llama-2's
                s.config.put("transformers_version", "4.31.0.dev0");
                yield s;
            }
            // TinyLlama/TinyLlama-1.1B-Chat-v1.0
            case "tinyllama-1.1b" -> builder().setName(n).setModelType("llama").setHiddenSize(2048)
                    .setNumLayers(22).setNumHeads(32).setNumKeyValueHeads(4).setIntermediateSize(5632)
                    .setVocabSize(32000).optMaxPositionEmbeddings(2048).build();
            // Qwen/Qwen2.5-0.5B
            case "qwen2.5-0.5b" -> builder().setName(n).setModelType("qwen2").setHiddenSize(896).setNumLayers(24)
                    .setNumHeads(14).setNumKeyValueHeads(2).setIntermediateSize(4864).setVocabSize(151936)
                    .optMaxPositionEmbeddings(32768).build();
            default -> throw new IllegalArgumentException("unknown model shape '" + name + "' (known: "
                    + String.join(", ", NAMES) + ", or build a custom one)");
        };
    }

    /** @return a builder of a custom shape */
    public static Builder builder() {
        return new Builder();
    }

    private ObjectNode buildConfig(int maxPositions) {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        boolean qwen = "qwen2".equals(modelType);
        c.putArray("architectures").add(qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
        if (qwen) {
            c.put("attention_dropout", 0.0);
            int special = vocabSize > 151643 ? 151643 : vocabSize - 1; // custom vocabularies: the last id
            c.put("bos_token_id", special);
            c.put("eos_token_id", special);
        } else {
            c.put("attention_bias", false);
            c.put("bos_token_id", Math.min(1, vocabSize - 1));
            c.put("eos_token_id", Math.min(2, vocabSize - 1));
        }
        c.put("hidden_act", "silu");
        c.put("hidden_size", hiddenSize);
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", intermediateSize);
        c.put("max_position_embeddings", maxPositions);
        if (qwen) {
            c.put("max_window_layers", numLayers);
        }
        c.put("model_type", modelType);
        c.put("num_attention_heads", numHeads);
        c.put("num_hidden_layers", numLayers);
        c.put("num_key_value_heads", numKeyValueHeads);
        if (!qwen) {
            c.put("pretraining_tp", 1);
        }
        c.put("rms_norm_eps", qwen ? 1e-6 : 1e-5);
        if (!qwen) {
            c.putNull("rope_scaling");
        }
        c.put("rope_theta", qwen ? 1000000.0 : 10000.0);
        if (qwen) {
            c.put("sliding_window", maxPositions);
        }
        c.put("tie_word_embeddings", tieWordEmbeddings);
        c.put("torch_dtype", "bfloat16");
        c.put("transformers_version", qwen ? "4.40.1" : "4.35.0");
        c.put("use_cache", true);
        if (qwen) {
            c.put("use_mrope", false);
            c.put("use_sliding_window", false);
        }
        c.put("vocab_size", vocabSize);
        return c;
    }

    /** @return the shape's name ({@code custom} for a built one without a name) */
    public String name() {
        return name;
    }

    /** @return {@code llama} or {@code qwen2} */
    public String modelType() {
        return modelType;
    }

    /** @return the model width */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** @return the number of decoder layers */
    public int numLayers() {
        return numLayers;
    }

    /** @return the number of query heads */
    public int numHeads() {
        return numHeads;
    }

    /** @return the number of key/value heads */
    public int numKeyValueHeads() {
        return numKeyValueHeads;
    }

    /** @return the MLP width */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** @return the vocabulary size */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return whether q/k/v projections have biases (Qwen2) */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** @return whether {@code lm_head} shares {@code embed_tokens}' weight (no {@code lm_head.weight}) */
    public boolean tieWordEmbeddings() {
        return tieWordEmbeddings;
    }

    /** @return a copy of the {@code config.json} object */
    public ObjectNode config() {
        return config.deepCopy();
    }

    /**
     * The tensors of the checkpoint in Hugging Face's {@code state_dict} order.
     *
     * @return name, shape and initialization of every stored tensor
     */
    public List<TensorSpec> tensors() {
        long h = hiddenSize;
        long head = h / numHeads;
        long kv = head * numKeyValueHeads;
        List<TensorSpec> t = new ArrayList<>();
        t.add(TensorSpec.normal("model.embed_tokens.weight", vocabSize, h));
        for (int i = 0; i < numLayers; i++) {
            String p = "model.layers." + i + ".";
            t.add(TensorSpec.normal(p + "self_attn.q_proj.weight", h, h));
            if (qkvBias) {
                t.add(TensorSpec.zeros(p + "self_attn.q_proj.bias", h));
            }
            t.add(TensorSpec.normal(p + "self_attn.k_proj.weight", kv, h));
            if (qkvBias) {
                t.add(TensorSpec.zeros(p + "self_attn.k_proj.bias", kv));
            }
            t.add(TensorSpec.normal(p + "self_attn.v_proj.weight", kv, h));
            if (qkvBias) {
                t.add(TensorSpec.zeros(p + "self_attn.v_proj.bias", kv));
            }
            t.add(TensorSpec.normal(p + "self_attn.o_proj.weight", h, h));
            t.add(TensorSpec.normal(p + "mlp.gate_proj.weight", intermediateSize, h));
            t.add(TensorSpec.normal(p + "mlp.up_proj.weight", intermediateSize, h));
            t.add(TensorSpec.normal(p + "mlp.down_proj.weight", h, intermediateSize));
            t.add(TensorSpec.ones(p + "input_layernorm.weight", h));
            t.add(TensorSpec.ones(p + "post_attention_layernorm.weight", h));
        }
        t.add(TensorSpec.ones("model.norm.weight", h));
        if (!tieWordEmbeddings) {
            t.add(TensorSpec.normal("lm_head.weight", vocabSize, h));
        }
        return t;
    }

    /** @return the number of stored parameters */
    public long parameterCount() {
        return tensors().stream().mapToLong(TensorSpec::elements).sum();
    }

    @Override
    public String toString() {
        return "ModelShape(" + name + ", " + modelType + ", hidden=" + hiddenSize + ", layers=" + numLayers
                + ", heads=" + numHeads + "/" + numKeyValueHeads + ", intermediate=" + intermediateSize
                + ", vocab=" + vocabSize + (tieWordEmbeddings ? ", tied" : "") + ")";
    }

    /** Builds a custom {@link ModelShape}; every size is required. */
    public static final class Builder {

        private String name = "custom";
        private String modelType;
        private int hiddenSize;
        private int numLayers;
        private int numHeads;
        private int numKeyValueHeads;
        private int intermediateSize;
        private int vocabSize;
        private Boolean tieWordEmbeddings;
        private int maxPositionEmbeddings = 2048;

        private Builder() {}

        /**
         * @param name the name recorded in the shape (default {@code custom})
         * @return this builder
         */
        public Builder setName(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * @param modelType {@code llama} or {@code qwen2} (q/k/v biases, tied embeddings by default)
         * @return this builder
         */
        public Builder setModelType(String modelType) {
            this.modelType = modelType;
            return this;
        }

        /**
         * @param hiddenSize the model width, a multiple of the head count
         * @return this builder
         */
        public Builder setHiddenSize(int hiddenSize) {
            this.hiddenSize = hiddenSize;
            return this;
        }

        /**
         * @param numLayers the number of decoder layers
         * @return this builder
         */
        public Builder setNumLayers(int numLayers) {
            this.numLayers = numLayers;
            return this;
        }

        /**
         * @param numHeads the number of query heads
         * @return this builder
         */
        public Builder setNumHeads(int numHeads) {
            this.numHeads = numHeads;
            return this;
        }

        /**
         * @param numKeyValueHeads the number of key/value heads, dividing the query heads
         * @return this builder
         */
        public Builder setNumKeyValueHeads(int numKeyValueHeads) {
            this.numKeyValueHeads = numKeyValueHeads;
            return this;
        }

        /**
         * @param intermediateSize the MLP width
         * @return this builder
         */
        public Builder setIntermediateSize(int intermediateSize) {
            this.intermediateSize = intermediateSize;
            return this;
        }

        /**
         * @param vocabSize the vocabulary size
         * @return this builder
         */
        public Builder setVocabSize(int vocabSize) {
            this.vocabSize = vocabSize;
            return this;
        }

        /**
         * @param tie whether the head shares the embedding (default: true for qwen2, false for llama)
         * @return this builder
         */
        public Builder optTieWordEmbeddings(boolean tie) {
            this.tieWordEmbeddings = tie;
            return this;
        }

        /**
         * @param maxPositionEmbeddings {@code max_position_embeddings} (default 2048)
         * @return this builder
         */
        public Builder optMaxPositionEmbeddings(int maxPositionEmbeddings) {
            this.maxPositionEmbeddings = maxPositionEmbeddings;
            return this;
        }

        /**
         * @return the shape
         * @throws IllegalArgumentException naming the first invalid field
         */
        public ModelShape build() {
            if (!"llama".equals(modelType) && !"qwen2".equals(modelType)) {
                throw new IllegalArgumentException("model type must be llama or qwen2, got '" + modelType + "'");
            }
            positive("hidden size", hiddenSize);
            positive("number of layers", numLayers);
            positive("number of heads", numHeads);
            positive("number of key/value heads", numKeyValueHeads);
            positive("intermediate size", intermediateSize);
            positive("vocabulary size", vocabSize);
            positive("max position embeddings", maxPositionEmbeddings);
            if (hiddenSize % numHeads != 0) {
                throw new IllegalArgumentException("hidden size " + hiddenSize + " is not a multiple of the "
                        + numHeads + " heads");
            }
            if ((hiddenSize / numHeads) % 2 != 0) {
                throw new IllegalArgumentException("head size " + hiddenSize / numHeads
                        + " must be even for rotary embeddings");
            }
            if (numHeads % numKeyValueHeads != 0) {
                throw new IllegalArgumentException(numHeads + " heads are not a multiple of the "
                        + numKeyValueHeads + " key/value heads");
            }
            return new ModelShape(this);
        }

        private static void positive(String what, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException(what + " must be positive, got " + v);
            }
        }
    }
}
