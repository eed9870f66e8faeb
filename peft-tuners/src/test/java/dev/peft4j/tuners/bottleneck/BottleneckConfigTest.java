package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link BottleneckConfig}: AdapterHub's presets, its file format, refusals, and {@code init_weights}. */
class BottleneckConfigTest {

    private static BottleneckConfig.Builder minilm(BottleneckConfig.Builder b, String name) {
        return b.optName(name).optHiddenSize(384).optModelClass("BertModel")
                .optModelName("sentence-transformers/all-MiniLM-L6-v2").optModelType("bert");
    }

    /** The presets written by peft4j are AdapterHub's own files, byte for byte. */
    @Test
    void presetsWriteAdapterHubsFiles() throws IOException {
        assertEquals(Files.readString(Fixtures.fixture("peft-methods", "seqbn-minilm", "adapter_config.json")),
                BottleneckConfigJson.toJson(minilm(BottleneckConfig.seqBn(), "reviews").build()));
        assertEquals(Files.readString(Fixtures.fixture("peft-methods", "dseqbn-minilm", "adapter_config.json")),
                BottleneckConfigJson.toJson(minilm(BottleneckConfig.doubleSeqBn(), "food_houlsby").build()));
        String par = BottleneckConfigJson.toJson(BottleneckConfig.parBn().build());
        for (String field : new String[] {"\"is_parallel\": true", "\"scaling\": 4.0", "\"reduction_factor\": 2,",
                "\"init_weights\": \"mam_adapter\"", "\"original_ln_before\": false", "\"mh_adapter\": false",
                "\"non_linearity\": \"relu\"", "\"phm_init_range\": 0.0001", "\"leave_out\": []"}) {
            assertTrue(par.contains(field), field + " in " + par);
        }
    }

    @Test
    void perLayerReductionFactorAndOtherFieldsRoundTrip(@TempDir Path dir) throws IOException {
        BottleneckConfig c = BottleneckConfig.doubleSeqBn().optReductionFactor(Map.of("0", 8, "3", 2.5), 16)
                .optLeaveOut(java.util.List.of(5)).optResidualBeforeLn(ResidualBeforeLn.POST_ADD).optName("x")
                .optInitWeightsSeed(42).optTaskType("SEQ_CLS").build();
        String json = BottleneckConfigJson.toJson(c);
        assertTrue(json.contains("\"reduction_factor\": {\n      \"0\": 8,\n      \"3\": 2.5,\n      \"default\": 16\n    },"),
                json);
        assertTrue(json.contains("\"residual_before_ln\": \"post_add\""), json);
        BottleneckConfigJson.write(c, dir);
        BottleneckConfig back = new BottleneckMethod().readConfig(dir.resolve("adapter_config.json"));
        assertEquals(c, back);
        assertEquals(json, BottleneckConfigJson.toJson(back));
        assertEquals(48, back.bottleneckSize(384, 0));
        assertEquals(153, back.bottleneckSize(384, 3), "int(384 // 2.5)");
        assertEquals(24, back.bottleneckSize(384, 1));
        assertEquals("SEQ_CLS", back.taskType());
    }

    @Test
    void unsupportedOrInvalidFieldsAreNamed(@TempDir Path dir) throws IOException {
        String seq = Files.readString(Fixtures.fixture("peft-methods", "seqbn-minilm", "adapter_config.json"));
        Path file = dir.resolve("adapter_config.json");
        Object[][] cases = {
            {"\"phm_layer\": false", "\"phm_layer\": true",
                "config.phm_layer = true is not supported by peft4j (PHM (Compacter) layers); only plain bottleneck layers are"},
            {"\"scaling\": 1.0", "\"scaling\": \"learned\"",
                "config.scaling = \"learned\" is not supported by peft4j (learned scaling, \"learned\" or \"channel\"); use a number"},
            {"\"non_linearity\": \"relu\"", "\"non_linearity\": \"mish\"",
                "config.non_linearity \"mish\" is not supported (known: [gelu, gelu_new, gelu_pytorch_tanh, leakyrelu,"
                        + " linear, relu, sigmoid, silu, swish, tanh])"},
            {"\"init_weights\": \"bert\"", "\"init_weights\": \"lora\"",
                "config.init_weights \"lora\" is not one of [bert, houlsby, mam_adapter]"},
            {"\"inv_adapter\": null", "\"inv_adapter\": \"nice\"",
                "config.inv_adapter = \"nice\" is not supported by peft4j (invertible adapters); only plain bottleneck layers are"},
            {"\"dropout\": 0.0", "\"architecture\": \"lora\", \"dropout\": 0.0",
                "config.architecture is \"lora\": only bottleneck adapters (SeqBn, DoubleSeqBn, ParBn) are supported"},
            {"\"reduction_factor\": 16", "\"reduction_factor\": -1",
                "config.reduction_factor must be a positive number, got -1"},
            {"\"mh_adapter\": false,", "",
                "missing required key config.mh_adapter"},
        };
        for (Object[] c : cases) {
            assertTrue(seq.contains((String) c[0]), (String) c[0]);
            Files.writeString(file, seq.replace((String) c[0], (String) c[1]));
            String msg = assertThrows(IllegalArgumentException.class, () -> BottleneckConfigJson.read(file)).getMessage();
            assertEquals(file + ": " + c[2], msg);
        }
    }

    @Test
    void pythonFloatRepr() {
        assertEquals("1.0", PythonJson.pyFloat(1.0));
        assertEquals("0.0", PythonJson.pyFloat(0.0));
        assertEquals("0.0001", PythonJson.pyFloat(1e-4));
        assertEquals("1e-05", PythonJson.pyFloat(1e-5));
        assertEquals("2.5e-07", PythonJson.pyFloat(2.5e-7));
        assertEquals("0.1", PythonJson.pyFloat(0.1));
        assertEquals("-4.0", PythonJson.pyFloat(-4.0));
        assertEquals("1e+16", PythonJson.pyFloat(1e16));
        assertEquals("1234567890123456.0", PythonJson.pyFloat(1234567890123456.0));
    }

    /**
     * AdapterHub's {@code init_weights}: {@code bert} draws every Linear weight from N(0, 0.02)
     * (the up projection too: small, not zero) with zero biases; {@code houlsby} N(0, 0.01)
     * truncated to ±0.02 (std 0.0088); {@code mam_adapter} U(±1/√384) down, zero up.
     */
    @Test
    void initWeightsFollowAdapterHub() {
        try (NDManager m = NDManager.newBaseManager()) {
            BottleneckAdapter bert = new BottleneckAdapter(BottleneckConfig.seqBn().build(), 384, 24);
            BottleneckInit.initialize(bert, m, new Random(1));
            float[] up = bert.upProjection().parameter("weight").getArray().toFloatArray();
            float[] down = bert.downProjection().parameter("weight").getArray().toFloatArray();
            assertEquals(0.02, std(up), 0.0005);
            assertEquals(0.02, std(down), 0.0005);
            assertEquals(0, mean(up), 0.001);
            assertEquals(0, maxAbs(bert.upProjection().parameter("bias").getArray().toFloatArray()));
            assertEquals(0, maxAbs(bert.downProjection().parameter("bias").getArray().toFloatArray()));

            BottleneckAdapter houlsby = new BottleneckAdapter(BottleneckConfig.seqBn().optInitWeights("houlsby").build(), 384, 24);
            BottleneckInit.initialize(houlsby, m, new Random(2));
            float[] h = houlsby.upProjection().parameter("weight").getArray().toFloatArray();
            assertTrue(maxAbs(h) <= 0.02);
            assertEquals(0.008796, std(h), 0.0003);

            BottleneckAdapter mam = new BottleneckAdapter(BottleneckConfig.parBn().build(), 384, 192);
            BottleneckInit.initialize(mam, m, new Random(3));
            assertEquals(0, maxAbs(mam.upProjection().parameter("weight").getArray().toFloatArray()));
            float[] d = mam.downProjection().parameter("weight").getArray().toFloatArray();
            double bound = 1 / Math.sqrt(384);
            assertTrue(maxAbs(d) <= bound && maxAbs(d) > 0.99 * bound);
            assertEquals(bound / Math.sqrt(3), std(d), 0.0005);
        }
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x;
        }
        return s / v.length;
    }

    private static double std(float[] v) {
        double mu = mean(v);
        double s = 0;
        for (float x : v) {
            s += (x - mu) * (x - mu);
        }
        return Math.sqrt(s / v.length);
    }

    private static double maxAbs(float[] v) {
        double worst = 0;
        for (float x : v) {
            worst = Math.max(worst, Math.abs(x));
        }
        return worst;
    }
}
