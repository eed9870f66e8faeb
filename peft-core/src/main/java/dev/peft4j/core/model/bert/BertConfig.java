package dev.peft4j.core.model.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;

import java.util.Objects;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The shape and hyper-parameters of a BERT encoder, read from a Hugging Face {@code config.json}
 * ({@link #from(HfConfig)}) or built in code ({@link #builder()}).
 *
 * <p>Only what peft4j implements is accepted: {@code model_type} {@code bert}, {@code hidden_act}
 * {@code gelu} (exact erf GELU), absolute position embeddings, encoder-only. Anything else is a
 * {@link ConfigException} naming the file and the field.
 */
public final class BertConfig {

    /** The {@code model_type} values this family accepts. */
    public static final List<String> SUPPORTED_MODEL_TYPES = List.of("bert");

    private final int vocabSize;
    private final int hiddenSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int intermediateSize;
    private final int maxPositionEmbeddings;
    private final int typeVocabSize;
    private final double layerNormEps;
    private final double hiddenDropoutProb;
    private final double attentionProbsDropoutProb;
    private final Double classifierDropout;
    private final double initializerRange;
    private final List<String> labels;
    private final String source;

    private BertConfig(Builder b) {
        this.vocabSize = b.vocabSize;
        this.hiddenSize = b.hiddenSize;
        this.numHiddenLayers = b.numHiddenLayers;
        this.numAttentionHeads = b.numAttentionHeads;
        this.intermediateSize = b.intermediateSize;
        this.maxPositionEmbeddings = b.maxPositionEmbeddings;
        this.typeVocabSize = b.typeVocabSize;
        this.layerNormEps = b.layerNormEps;
        this.hiddenDropoutProb = b.hiddenDropoutProb;
        this.attentionProbsDropoutProb = b.attentionProbsDropoutProb;
        this.classifierDropout = b.classifierDropout;
        this.initializerRange = b.initializerRange;
        this.labels = List.copyOf(b.labels);
        this.source = b.source;
    }

    /** @return a builder for a config made in code */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads a BERT config.
     *
     * @param hf the parsed {@code config.json}
     * @return the config
     * @throws ConfigException naming the file and field when a field is missing, mistyped, out of
     *     range or unsupported
     */
    public static BertConfig from(HfConfig hf) {
        Objects.requireNonNull(hf, "hf");
        String src = hf.source();
        String type = hf.modelType();
        if (!SUPPORTED_MODEL_TYPES.contains(type)) {
            throw new ConfigException(src + ": model_type '" + type + "' is not supported by the BERT family"
                    + " (supported: " + String.join(", ", SUPPORTED_MODEL_TYPES) + ")");
        }
        String act = hf.optString("hidden_act", "gelu");
        if (!"gelu".equals(act)) {
            throw new ConfigException(src + ": field 'hidden_act' is '" + act
                    + "' but BERT supports only 'gelu' (exact erf GELU)");
        }
        String pos = hf.optString("position_embedding_type", "absolute");
        if (!"absolute".equals(pos)) {
            throw new ConfigException(src + ": field 'position_embedding_type' is '" + pos
                    + "' but BERT supports only 'absolute'");
        }
        if (hf.optBoolean("is_decoder", false) || hf.optBoolean("add_cross_attention", false)) {
            throw new ConfigException(src + ": fields 'is_decoder'/'add_cross_attention' are set but"
                    + " BERT supports only the encoder");
        }
        Builder b = builder()
                .setVocabSize(hf.getInt("vocab_size"))
                .setHiddenSize(hf.getInt("hidden_size"))
                .setNumHiddenLayers(hf.getInt("num_hidden_layers"))
                .setNumAttentionHeads(hf.getInt("num_attention_heads"))
                .setIntermediateSize(hf.getInt("intermediate_size"))
                .optMaxPositionEmbeddings(hf.optInt("max_position_embeddings", 512))
                .optTypeVocabSize(hf.optInt("type_vocab_size", 2))
                .optLayerNormEps(hf.optDouble("layer_norm_eps", 1e-12))
                .optHiddenDropoutProb(hf.optDouble("hidden_dropout_prob", 0.1))
                .optAttentionProbsDropoutProb(hf.optDouble("attention_probs_dropout_prob", 0.1))
                .optInitializerRange(hf.optDouble("initializer_range", 0.02));
        if (hf.has("classifier_dropout")) {
            b.optClassifierDropout(hf.getDouble("classifier_dropout"));
        }
        b.optLabels(readLabels(hf));
        b.source = src;
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(src + ": " + e.getMessage(), e);
        }
    }

    /** {@code id2label} ordered by id, checked against {@code num_labels}; HF's default is 2 labels. */
    private static List<String> readLabels(HfConfig hf) {
        String src = hf.source();
        JsonNode id2label = hf.get("id2label");
        List<String> labels = new ArrayList<>();
        if (id2label != null) {
            if (!id2label.isObject()) {
                throw new ConfigException(src + ": field 'id2label' must be an object, got " + id2label);
            }
            Map<Integer, String> byId = new TreeMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = id2label.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw new ConfigException(src + ": field 'id2label' has a non-integer id '" + e.getKey() + "'");
                }
                byId.put(id, e.getValue().asText());
            }
            int expected = 0;
            for (Map.Entry<Integer, String> e : byId.entrySet()) {
                if (e.getKey() != expected++) {
                    throw new ConfigException(src + ": field 'id2label' must have ids 0.." + (byId.size() - 1)
                            + ", got " + byId.keySet());
                }
                labels.add(e.getValue());
            }
        }
        if (hf.has("num_labels")) {
            int n = hf.getInt("num_labels");
            if (id2label != null && n != labels.size()) {
                throw new ConfigException(src + ": field 'num_labels' is " + n + " but 'id2label' has "
                        + labels.size() + " labels");
            }
            if (id2label == null) {
                if (n <= 0) {
                    throw new ConfigException(src + ": field 'num_labels' must be positive, got " + n);
                }
                labels = defaultLabels(n);
            }
        }
        if (labels.isEmpty()) {
            labels = defaultLabels(2);
        }
        return labels;
    }

    /**
     * @param n number of labels
     * @return Hugging Face's default names {@code LABEL_0 .. LABEL_n-1}
     */
    public static List<String> defaultLabels(int n) {
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add("LABEL_" + i);
        }
        return out;
    }

    /** @return {@code vocab_size} */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return {@code hidden_size} */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** @return {@code num_hidden_layers} */
    public int numHiddenLayers() {
        return numHiddenLayers;
    }

    /** @return {@code num_attention_heads} */
    public int numAttentionHeads() {
        return numAttentionHeads;
    }

    /** @return {@code hidden_size / num_attention_heads} */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** @return {@code intermediate_size} */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** @return {@code hidden_act}: always {@code gelu} (exact erf GELU) */
    public String hiddenAct() {
        return "gelu";
    }

    /** @return {@code max_position_embeddings} */
    public int maxPositionEmbeddings() {
        return maxPositionEmbeddings;
    }

    /** @return {@code type_vocab_size} */
    public int typeVocabSize() {
        return typeVocabSize;
    }

    /** @return {@code layer_norm_eps} */
    public double layerNormEps() {
        return layerNormEps;
    }

    /** @return {@code hidden_dropout_prob} */
    public double hiddenDropoutProb() {
        return hiddenDropoutProb;
    }

    /** @return {@code attention_probs_dropout_prob} */
    public double attentionProbsDropoutProb() {
        return attentionProbsDropoutProb;
    }

    /** @return {@code classifier_dropout}, or {@code hidden_dropout_prob} when unset (as HF does) */
    public double classifierDropout() {
        return classifierDropout != null ? classifierDropout : hiddenDropoutProb;
    }

    /** @return {@code initializer_range}: the standard deviation of freshly initialized weights */
    public double initializerRange() {
        return initializerRange;
    }

    /** @return the number of classification labels ({@code num_labels} or the size of {@code id2label}) */
    public int numLabels() {
        return labels.size();
    }

    /** @return the label names by id ({@code id2label}); {@code LABEL_i} when the config has none */
    public List<String> labels() {
        return labels;
    }

    /** @return where the config came from, for messages */
    public String source() {
        return source;
    }

    /**
     * @param newLabels label names by id, non-empty
     * @return a copy of this config with other labels (for a classifier built on a base model)
     */
    public BertConfig withLabels(List<String> newLabels) {
        Builder b = toBuilder();
        b.optLabels(newLabels);
        return b.build();
    }

    private Builder toBuilder() {
        Builder b = builder()
                .setVocabSize(vocabSize)
                .setHiddenSize(hiddenSize)
                .setNumHiddenLayers(numHiddenLayers)
                .setNumAttentionHeads(numAttentionHeads)
                .setIntermediateSize(intermediateSize)
                .optMaxPositionEmbeddings(maxPositionEmbeddings)
                .optTypeVocabSize(typeVocabSize)
                .optLayerNormEps(layerNormEps)
                .optHiddenDropoutProb(hiddenDropoutProb)
                .optAttentionProbsDropoutProb(attentionProbsDropoutProb)
                .optInitializerRange(initializerRange)
                .optLabels(labels);
        b.classifierDropout = classifierDropout;
        b.source = source;
        return b;
    }

    @Override
    public String toString() {
        return "BertConfig(hidden=" + hiddenSize + ", layers=" + numHiddenLayers + ", heads=" + numAttentionHeads
                + ", intermediate=" + intermediateSize + ", vocab=" + vocabSize + ", labels=" + labels.size() + ")";
    }

    /** Builder of {@link BertConfig}: {@code setX} required, {@code optX} optional (HF defaults). */
    public static final class Builder {
        private int vocabSize = -1;
        private int hiddenSize = -1;
        private int numHiddenLayers = -1;
        private int numAttentionHeads = -1;
        private int intermediateSize = -1;
        private int maxPositionEmbeddings = 512;
        private int typeVocabSize = 2;
        private double layerNormEps = 1e-12;
        private double hiddenDropoutProb = 0.1;
        private double attentionProbsDropoutProb = 0.1;
        private Double classifierDropout;
        private double initializerRange = 0.02;
        private List<String> labels = defaultLabels(2);
        private String source = "<code>";

        private Builder() {}

        /**
         * @param v {@code vocab_size} (required)
         * @return this builder
         */
        public Builder setVocabSize(int v) {
            vocabSize = v;
            return this;
        }

        /**
         * @param v {@code hidden_size} (required), a multiple of the number of heads
         * @return this builder
         */
        public Builder setHiddenSize(int v) {
            hiddenSize = v;
            return this;
        }

        /**
         * @param v {@code num_hidden_layers} (required)
         * @return this builder
         */
        public Builder setNumHiddenLayers(int v) {
            numHiddenLayers = v;
            return this;
        }

        /**
         * @param v {@code num_attention_heads} (required)
         * @return this builder
         */
        public Builder setNumAttentionHeads(int v) {
            numAttentionHeads = v;
            return this;
        }

        /**
         * @param v {@code intermediate_size} (required)
         * @return this builder
         */
        public Builder setIntermediateSize(int v) {
            intermediateSize = v;
            return this;
        }

        /**
         * @param v {@code max_position_embeddings} (default 512)
         * @return this builder
         */
        public Builder optMaxPositionEmbeddings(int v) {
            maxPositionEmbeddings = v;
            return this;
        }

        /**
         * @param v {@code type_vocab_size} (default 2)
         * @return this builder
         */
        public Builder optTypeVocabSize(int v) {
            typeVocabSize = v;
            return this;
        }

        /**
         * @param v {@code layer_norm_eps} (default 1e-12)
         * @return this builder
         */
        public Builder optLayerNormEps(double v) {
            layerNormEps = v;
            return this;
        }

        /**
         * @param v {@code hidden_dropout_prob} (default 0.1)
         * @return this builder
         */
        public Builder optHiddenDropoutProb(double v) {
            hiddenDropoutProb = v;
            return this;
        }

        /**
         * @param v {@code attention_probs_dropout_prob} (default 0.1)
         * @return this builder
         */
        public Builder optAttentionProbsDropoutProb(double v) {
            attentionProbsDropoutProb = v;
            return this;
        }

        /**
         * @param v {@code classifier_dropout} (default: the hidden dropout)
         * @return this builder
         */
        public Builder optClassifierDropout(double v) {
            classifierDropout = v;
            return this;
        }

        /**
         * @param v {@code initializer_range} (default 0.02)
         * @return this builder
         */
        public Builder optInitializerRange(double v) {
            initializerRange = v;
            return this;
        }

        /**
         * @param v label names by id (default {@code LABEL_0, LABEL_1})
         * @return this builder
         */
        public Builder optLabels(List<String> v) {
            labels = List.copyOf(v);
            return this;
        }

        /**
         * @return the config
         * @throws IllegalArgumentException naming the field when a value is missing or out of range
         */
        public BertConfig build() {
            positive("vocab_size", vocabSize);
            positive("hidden_size", hiddenSize);
            positive("num_hidden_layers", numHiddenLayers);
            positive("num_attention_heads", numAttentionHeads);
            positive("intermediate_size", intermediateSize);
            positive("max_position_embeddings", maxPositionEmbeddings);
            positive("type_vocab_size", typeVocabSize);
            if (hiddenSize % numAttentionHeads != 0) {
                throw new IllegalArgumentException("hidden_size " + hiddenSize
                        + " is not a multiple of num_attention_heads " + numAttentionHeads);
            }
            if (!(layerNormEps > 0)) {
                throw new IllegalArgumentException("layer_norm_eps must be positive, got " + layerNormEps);
            }
            probability("hidden_dropout_prob", hiddenDropoutProb);
            probability("attention_probs_dropout_prob", attentionProbsDropoutProb);
            if (classifierDropout != null) {
                probability("classifier_dropout", classifierDropout);
            }
            if (!(initializerRange > 0)) {
                throw new IllegalArgumentException("initializer_range must be positive, got " + initializerRange);
            }
            if (labels.isEmpty()) {
                throw new IllegalArgumentException("a classifier needs at least one label");
            }
            return new BertConfig(this);
        }

        private static void positive(String field, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException(v == -1
                        ? field + " is required"
                        : field + " must be positive, got " + v);
            }
        }

        private static void probability(String field, double p) {
            if (!(p >= 0 && p < 1)) {
                throw new IllegalArgumentException(field + " must be in [0, 1), got " + p);
            }
        }
    }
}
