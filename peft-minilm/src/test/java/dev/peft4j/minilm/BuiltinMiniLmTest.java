package dev.peft4j.minilm;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.text.TokenizedBatch;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of builtin:all-minilm-l6-v2: names, shapes, orientation, and a plain DJL BERT forward
 * with them that matches ONNX Runtime on the original model and the Hugging Face reference numbers.
 */
class BuiltinMiniLmTest {

    private static final List<String> TEXTS =
            List.of(
                    "This tea is wonderful.",
                    "The package arrived broken and the cookies were stale.",
                    "Great!");

    private static OnnxWeights weights;

    @BeforeAll
    static void open() throws IOException {
        TensorSource source = Builtins.get(Builtins.ALL_MINILM_L6_V2).openWeights();
        weights = (OnnxWeights) source;
    }

    @AfterAll
    static void close() {
        weights.close();
    }

    /** Every tensor of BertModel (plus the position_ids buffer) with its Hugging Face shape. */
    private static Map<String, long[]> expectedShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("embeddings.position_ids", new long[] {1, 512});
        m.put("embeddings.word_embeddings.weight", new long[] {30522, 384});
        m.put("embeddings.position_embeddings.weight", new long[] {512, 384});
        m.put("embeddings.token_type_embeddings.weight", new long[] {2, 384});
        m.put("embeddings.LayerNorm.weight", new long[] {384});
        m.put("embeddings.LayerNorm.bias", new long[] {384});
        for (int l = 0; l < 6; l++) {
            String p = "encoder.layer." + l + ".";
            for (String qkv : List.of("query", "key", "value")) {
                m.put(p + "attention.self." + qkv + ".weight", new long[] {384, 384});
                m.put(p + "attention.self." + qkv + ".bias", new long[] {384});
            }
            m.put(p + "attention.output.dense.weight", new long[] {384, 384});
            m.put(p + "attention.output.dense.bias", new long[] {384});
            m.put(p + "attention.output.LayerNorm.weight", new long[] {384});
            m.put(p + "attention.output.LayerNorm.bias", new long[] {384});
            m.put(p + "intermediate.dense.weight", new long[] {1536, 384});
            m.put(p + "intermediate.dense.bias", new long[] {1536});
            m.put(p + "output.dense.weight", new long[] {384, 1536});
            m.put(p + "output.dense.bias", new long[] {384});
            m.put(p + "output.LayerNorm.weight", new long[] {384});
            m.put(p + "output.LayerNorm.bias", new long[] {384});
        }
        m.put("pooler.dense.weight", new long[] {384, 384});
        m.put("pooler.dense.bias", new long[] {384});
        return m;
    }

    @Test
    void namesAndShapes() {
        Map<String, long[]> expected = expectedShapes();
        assertEquals(104, weights.names().size());
        assertEquals(expected.keySet(), new HashSet<>(weights.names()));
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            TensorInfo info = weights.info(e.getKey());
            assertArrayEquals(e.getValue(), info.shape(), e.getKey());
            DType dtype = e.getKey().equals("embeddings.position_ids") ? DType.I64 : DType.F32;
            assertEquals(dtype, info.dtype(), e.getKey());
        }
        // Storage order: named initializers first, then the 36 renamed MatMul weights.
        assertEquals("embeddings.position_ids", weights.names().get(0));
        assertEquals("encoder.layer.0.attention.self.query.weight", weights.names().get(68));
        assertEquals("encoder.layer.5.output.dense.weight", weights.names().get(103));

        assertEquals(36, weights.names().stream().filter(weights::isTransposed).count());
        assertEquals(
                "onnx::MatMul_885",
                weights.onnxName("encoder.layer.0.attention.self.query.weight"));
        assertEquals("onnx::MatMul_962", weights.onnxName("encoder.layer.5.output.dense.weight"));
        assertFalse(weights.isTransposed("pooler.dense.weight")); // Gemm with transB = 1
        assertTrue(weights.isTransposed("encoder.layer.3.attention.self.value.weight"));
    }

    @Test
    void modelDescription() {
        assertEquals(Path.of("builtin:all-minilm-l6-v2"), weights.location());
        assertEquals(
                List.of("input_ids", "attention_mask", "token_type_ids"), weights.graphInputs());
        assertEquals(List.of("output_0", "882"), weights.graphOutputs());
        assertEquals(
                Map.of(
                        "onnx.ir_version", "7",
                        "onnx.producer_name", "pytorch",
                        "onnx.producer_version", "1.13.0",
                        "onnx.opset", "14",
                        "onnx.graph_name", "torch_jit"),
                weights.metadata());
    }

    @Test
    void pinnedValues() throws IOException {
        // Read independently from the ONNX file (numpy): W = onnx::MatMul_885.T etc.
        float[] q = weights.loadFloats("encoder.layer.0.attention.self.query.weight");
        assertEquals(-0.1486196219921112f, q[0]);
        assertEquals(0.043580375611782074f, q[1]);
        assertEquals(0.035969655960798264f, q[384]); // [1][0]
        assertEquals(0.04102743789553642f, q[383 * 384 + 382]);
        float[] inter = weights.loadFloats("encoder.layer.0.intermediate.dense.weight");
        assertEquals(-0.07771120965480804f, inter[1]);
        assertEquals(-0.039883118122816086f, inter[1535 * 384 + 383]);
        float[] out = weights.loadFloats("encoder.layer.5.output.dense.weight");
        assertEquals(0.009879817254841328f, out[1]);
        assertEquals(0.0012321292888373137f, out[383 * 1536 + 1535]);
        float[] pooler = weights.loadFloats("pooler.dense.weight");
        assertEquals(-0.0224456787109375f, pooler[1]);
        float[] ln = weights.loadFloats("embeddings.LayerNorm.weight");
        assertEquals(0.583594799041748f, ln[1]);
        float[] word = weights.loadFloats("embeddings.word_embeddings.weight");
        assertEquals(-0.007600549608469009f, word[101 * 384 + 1]);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray pos = weights.load("embeddings.position_ids", m);
            assertEquals(DataType.INT64, pos.getDataType());
            assertEquals(511L, pos.getLong(0, 511));
        }
    }

    @Test
    void djlForwardMatchesOnnxRuntime() throws IOException {
        TokenizedBatch batch = tokenize();
        OnnxReference.Outputs ref;
        try (OnnxReference ort = OnnxReference.allMiniLmL6V2()) {
            ref = ort.run(batch.ids(), batch.attentionMask(), batch.typeIds());
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray[] out = MiniBert.forward(weights, m, batch);
            double hiddenDiff = maxAbsDiff(out[0].toFloatArray(), flatten(ref.lastHiddenState()));
            double pooledDiff = maxAbsDiff(out[1].toFloatArray(), flatten(ref.poolerOutput()));
            // Measured on x86-64 CPU: 3.0e-5 and 2.4e-7.
            assertTrue(hiddenDiff < 1e-4, "last hidden state differs by " + hiddenDiff);
            assertTrue(pooledDiff < 1e-4, "pooler output differs by " + pooledDiff);
        }
    }

    @Test
    void meanPooledEmbeddingsMatchTheReference() throws IOException {
        Path file = sharedFixture("peft-minilm-qv/expected.json");
        JsonNode sentences = new ObjectMapper().readTree(file.toFile()).get("sentences");
        List<String> texts = new ArrayList<>();
        for (JsonNode s : sentences) {
            texts.add(s.get("text").asText());
        }
        TokenizedBatch batch;
        try (TextTokenizer tok = tokenizer()) {
            batch = tok.encodeBatch(texts);
        }
        double[][] ortPooled;
        try (OnnxReference ort = OnnxReference.allMiniLmL6V2()) {
            OnnxReference.Outputs ref =
                    ort.run(batch.ids(), batch.attentionMask(), batch.typeIds());
            ortPooled = OnnxReference.meanPool(ref.lastHiddenState(), batch.attentionMask());
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray hidden = MiniBert.forward(weights, m, batch)[0];
            long[][] mask = batch.attentionMask();
            for (int i = 0; i < texts.size(); i++) {
                double[] expected =
                        new ObjectMapper()
                                .treeToValue(
                                        sentences.get(i).get("base_mean_pooled"), double[].class);
                assertEquals(384, expected.length);
                float[][] h = new float[batch.sequenceLength()][];
                for (int t = 0; t < h.length; t++) {
                    h[t] = hidden.get(i, t).toFloatArray();
                }
                double[] ours =
                        OnnxReference.meanPool(new float[][][] {h}, new long[][] {mask[i]})[0];
                double d1 = maxAbsDiff(ours, expected);
                double d2 = maxAbsDiff(ortPooled[i], expected);
                // Measured: 7e-7 for both (the reference is float64, checked against ORT to 2e-6).
                assertTrue(d1 < 5e-6, "DJL forward differs from the reference by " + d1);
                assertTrue(d2 < 5e-6, "ONNX Runtime differs from the reference by " + d2);
            }
        }
    }

    private static TextTokenizer tokenizer() throws IOException {
        return TextTokenizer.builder()
                .setTokenizerJson(
                        Builtins.get(Builtins.ALL_MINILM_L6_V2).tokenizerJson(), "all-minilm-l6-v2")
                .setMaxLength(256)
                .build();
    }

    private static TokenizedBatch tokenize() throws IOException {
        try (TextTokenizer tok = tokenizer()) {
            return tok.encodeBatch(TEXTS);
        }
    }

    private static Path sharedFixture(String relative) {
        return Fixtures.fixture(relative);
    }

    private static float[] flatten(float[][][] a) {
        List<float[]> rows = new ArrayList<>();
        for (float[][] x : a) {
            rows.addAll(List.of(x));
        }
        return flatten(rows.toArray(new float[0][]));
    }

    private static float[] flatten(float[][] a) {
        int n = 0;
        for (float[] r : a) {
            n += r.length;
        }
        float[] out = new float[n];
        int i = 0;
        for (float[] r : a) {
            System.arraycopy(r, 0, out, i, r.length);
            i += r.length;
        }
        return out;
    }

    /** A plain BertModel forward in DJL, straight from the Hugging Face definition. */
    static final class MiniBert {
        private static final int HEADS = 12;
        private static final float EPS = 1e-12f;

        private MiniBert() {}

        /** @return {last_hidden_state [B, T, 384], pooler_output [B, 384]} */
        static NDArray[] forward(TensorSource w, NDManager m, TokenizedBatch batch)
                throws IOException {
            int b = batch.size();
            int t = batch.sequenceLength();
            NDArray ids = m.create(batch.ids()).reshape(-1);
            NDArray types = m.create(batch.typeIds()).reshape(-1);
            NDArray mask = m.create(batch.attentionMask()).toType(DataType.FLOAT32, false);
            NDArray x =
                    w.load("embeddings.word_embeddings.weight", m)
                            .get(ids)
                            .add(w.load("embeddings.token_type_embeddings.weight", m).get(types))
                            .reshape(b, t, -1)
                            .add(
                                    w.load("embeddings.position_embeddings.weight", m)
                                            .get(new NDIndex("0:" + t)));
            x = layerNorm(w, m, x, "embeddings.LayerNorm");
            int hidden = (int) x.getShape().get(2);
            int headDim = hidden / HEADS;
            // [B, 1, 1, T]: 0 for tokens, a large negative number for padding.
            NDArray bias = mask.neg().add(1).mul(-1e9f).reshape(b, 1, 1, t);
            for (int l = 0; l < 6; l++) {
                String p = "encoder.layer." + l + ".";
                NDArray q = heads(linear(w, m, x, p + "attention.self.query"), b, t, headDim);
                NDArray k = heads(linear(w, m, x, p + "attention.self.key"), b, t, headDim);
                NDArray v = heads(linear(w, m, x, p + "attention.self.value"), b, t, headDim);
                NDArray scores =
                        q.matMul(k.transpose(0, 1, 3, 2)).div((float) Math.sqrt(headDim)).add(bias);
                NDArray ctx =
                        scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, t, hidden);
                NDArray a =
                        layerNorm(
                                w,
                                m,
                                linear(w, m, ctx, p + "attention.output.dense").add(x),
                                p + "attention.output.LayerNorm");
                NDArray i = gelu(linear(w, m, a, p + "intermediate.dense"));
                x =
                        layerNorm(
                                w,
                                m,
                                linear(w, m, i, p + "output.dense").add(a),
                                p + "output.LayerNorm");
            }
            NDArray first = x.get(new NDIndex(":, 0, :"));
            NDArray pooled = linear(w, m, first, "pooler.dense").tanh();
            return new NDArray[] {x, pooled};
        }

        private static NDArray linear(TensorSource w, NDManager m, NDArray x, String module)
                throws IOException {
            NDArray weight = w.load(module + ".weight", m); // [out, in]
            return x.matMul(weight.transpose()).add(w.load(module + ".bias", m));
        }

        private static NDArray heads(NDArray x, int b, int t, int headDim) {
            return x.reshape(b, t, HEADS, headDim).transpose(0, 2, 1, 3);
        }

        private static NDArray layerNorm(TensorSource w, NDManager m, NDArray x, String module)
                throws IOException {
            NDArray mean = x.mean(new int[] {-1}, true);
            NDArray centered = x.sub(mean);
            NDArray var = centered.square().mean(new int[] {-1}, true);
            return centered.div(var.add(EPS).sqrt())
                    .mul(w.load(module + ".weight", m))
                    .add(w.load(module + ".bias", m));
        }

        private static NDArray gelu(NDArray x) {
            return x.mul(0.5f).mul(x.div((float) Math.sqrt(2)).erf().add(1));
        }
    }
}
