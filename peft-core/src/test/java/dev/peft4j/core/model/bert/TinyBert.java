package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.ArrayTensorSource;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.nn.Module;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** A tiny BERT with seeded random weights large enough that attention is far from uniform. */
final class TinyBert {

    static final int VOCAB = 13;
    static final int HIDDEN = 8;
    static final int LAYERS = 2;
    static final int HEADS = 2;
    static final int INTERMEDIATE = 12;
    static final int MAX_POS = 10;

    private TinyBert() {}

    static ObjectNode json() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("model_type", "bert");
        n.put("vocab_size", VOCAB);
        n.put("hidden_size", HIDDEN);
        n.put("num_hidden_layers", LAYERS);
        n.put("num_attention_heads", HEADS);
        n.put("intermediate_size", INTERMEDIATE);
        n.put("max_position_embeddings", MAX_POS);
        n.put("type_vocab_size", 2);
        n.put("layer_norm_eps", 1e-12);
        n.put("hidden_act", "gelu");
        n.put("hidden_dropout_prob", 0.1);
        n.put("attention_probs_dropout_prob", 0.1);
        return n;
    }

    static HfConfig hfConfig() {
        return HfConfig.of(json(), "tiny/config.json");
    }

    static BertConfig config() {
        return BertConfig.from(hfConfig());
    }

    /**
     * Random values for every parameter of {@code model} by path: weights N(0, 0.5), LayerNorm
     * weights 1 + N(0, 0.1), biases N(0, 0.1).
     */
    static Map<String, float[]> weights(Module model, long seed) {
        Random r = new Random(seed);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String path : model.namedParameters().keySet()) {
            float[] v = new float[(int) shape(model, path).size()];
            boolean norm = path.contains("LayerNorm");
            boolean bias = path.endsWith(".bias");
            for (int i = 0; i < v.length; i++) {
                double g = r.nextGaussian();
                v[i] = (float) (norm && !bias ? 1 + 0.1 * g : bias ? 0.1 * g : 0.5 * g);
            }
            out.put(path, v);
        }
        return out;
    }

    static Shape shape(Module model, String path) {
        int dot = path.lastIndexOf('.');
        return model.getModule(path.substring(0, dot)).expectedShape(path.substring(dot + 1));
    }

    /** The weights as a checkpoint whose names carry {@code prefix}. */
    static ArrayTensorSource source(NDManager m, Module model, Map<String, float[]> weights, String prefix) {
        Map<String, NDArray> sd = new LinkedHashMap<>();
        weights.forEach((k, v) -> sd.put(prefix + k, m.create(v, shape(model, k))));
        return ArrayTensorSource.of(sd);
    }

    /** Drops {@code prefix} from every name that has it. */
    static Map<String, float[]> strip(Map<String, float[]> weights, String prefix) {
        Map<String, float[]> out = new LinkedHashMap<>();
        weights.forEach((k, v) -> out.put(k.startsWith(prefix) ? k.substring(prefix.length()) : k, v));
        return out;
    }
}
