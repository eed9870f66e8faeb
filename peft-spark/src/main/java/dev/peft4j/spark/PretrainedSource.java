package dev.peft4j.spark;

import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;

import java.io.IOException;
import java.util.List;
import java.util.Objects;

/** A {@link ModelSource} loading with {@code fromPretrained}. */
final class PretrainedSource<M extends Module> implements ModelSource<M> {

    private static final long serialVersionUID = 1L;

    enum Kind { CLASSIFIER, ENCODER, CAUSAL_LM }

    private final Kind kind;
    private final String spec;
    private final List<String> labels;
    private final int maxLength;

    PretrainedSource(Kind kind, String spec, List<String> labels, int maxLength) {
        this.kind = kind;
        this.spec = Objects.requireNonNull(spec, "model path or builtin id");
        this.labels = labels == null ? null : List.copyOf(labels);
        this.maxLength = maxLength;
        if (kind != Kind.CAUSAL_LM && maxLength <= 0) {
            throw new IllegalArgumentException("maxLength must be positive, got " + maxLength);
        }
    }

    @Override
    public String key() {
        return kind + "|" + spec + "|" + labels + "|" + maxLength;
    }

    @Override
    @SuppressWarnings("unchecked")
    public M load() throws IOException {
        PretrainedOptions.Builder o = PretrainedOptions.builder();
        if (maxLength > 0) {
            o.optMaxLength(maxLength);
        }
        if (labels != null) {
            o.optLabels(labels);
        }
        if (kind == Kind.CLASSIFIER) {
            o.optPooling(Pooling.MEAN); // the library's default (TrainingDefaults.POOLING), as peft4j eval reads it
        }
        return (M) switch (kind) {
            case CLASSIFIER -> BertForSequenceClassification.fromPretrained(spec, o.build());
            case ENCODER -> BertModel.fromPretrained(spec, o.build());
            case CAUSAL_LM -> LlamaForCausalLM.fromPretrained(spec, o.build());
        };
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + " " + spec;
    }
}
