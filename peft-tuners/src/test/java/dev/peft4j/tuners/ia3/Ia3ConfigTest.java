package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.train.TinyClassifier;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Ia3Config}, its JSON, PEFT's per-family defaults and the errors of bad configs. */
class Ia3ConfigTest {

    @Test
    void readsPeftsFileAndWritesItBack() throws Exception {
        Path file = Fixtures.fixture("peft-methods", "ia3-minilm", "adapter_config.json");
        Ia3Config c = Ia3ConfigJson.read(file);
        assertEquals(List.of("key", "value", "output.dense"), c.targetModules().names());
        assertEquals(List.of("output.dense"), c.feedforwardModules().names());
        assertEquals("FEATURE_EXTRACTION", c.taskType());
        assertEquals("sentence-transformers/all-MiniLM-L6-v2", c.baseModelNameOrPath());
        assertTrue(c.initIa3Weights());
        assertNull(c.excludeModules());
        // PEFT's file minus peft_version (optional, A.1) is what peft4j writes
        String peft = Files.readString(file).replace("  \"peft_version\": \"0.20.0\",\n", "");
        assertEquals(peft, Ia3ConfigJson.toJson(c));
    }

    @Test
    void defaultsAndRoundTripOfEveryField() {
        Ia3Config d = Ia3Config.builder().build();
        assertNull(d.targetModules());
        assertNull(d.feedforwardModules());
        assertTrue(d.initIa3Weights());
        Ia3Config c = Ia3Config.builder().setTargetModules(TargetModules.regex(".*\\.(key|value|dense)"))
                .setFeedforwardModules(FeedforwardModules.regex(".*output\\.dense")).optExcludeModules(TargetModules.of("x"))
                .optModulesToSave(List.of("classifier")).optInitIa3Weights(false).optTaskType("SEQ_CLS")
                .optRevision("main").build();
        assertEquals(c, Ia3ConfigJson.parse(Ia3ConfigJson.toJson(c)));
        assertTrue(Ia3ConfigJson.toJson(c).contains("\"target_modules\": \".*\\\\.(key|value|dense)\""),
                Ia3ConfigJson.toJson(c));
        // a regex target cannot take layers_to_transform (TargetMatcher's rule)
        assertThrows(IllegalArgumentException.class, () -> c.toBuilder().optLayersToTransform(List.of(0)).build());
        Ia3Config l = c.toBuilder().setTargetModules("key", "value", "dense").setFeedforwardModules("dense")
                .optLayersToTransform(List.of(0)).optLayersPattern(List.of("layer")).build();
        assertEquals(l, Ia3ConfigJson.parse(Ia3ConfigJson.toJson(l)));
        assertTrue(Ia3ConfigJson.toJson(l).contains("\"layers_to_transform\": [\n    0\n  ]"));
        assertTrue(!Ia3ConfigJson.toJson(d).contains("layers_to_transform"), "written only when set");
    }

    @Test
    void badValuesFailNamingTheField() {
        assertEquals("feedforward_modules should be a subset of target_modules: [dense] not in [key, value]",
                assertThrows(IllegalArgumentException.class, () -> Ia3Config.builder().setTargetModules("key", "value")
                        .setFeedforwardModules("dense").build()).getMessage());
        assertEquals("init_ia3_weights must be true or false, got \"yes\"", assertThrows(IllegalArgumentException.class,
                () -> Ia3ConfigJson.parse("{\"peft_type\": \"IA3\", \"init_ia3_weights\": \"yes\"}")).getMessage());
        assertEquals("feedforward_modules must hold strings, got 3", assertThrows(IllegalArgumentException.class,
                () -> Ia3ConfigJson.parse("{\"peft_type\": \"IA3\", \"feedforward_modules\": [3]}")).getMessage());
        assertEquals("peft_type must be \"IA3\", got \"LORA\"", assertThrows(IllegalArgumentException.class,
                () -> Ia3ConfigJson.parse("{\"peft_type\": \"LORA\"}")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Ia3ConfigJson.parse("{\"peft_type\": \"IA3\", \"task_type\": \"CLS\"}")).getMessage()
                .startsWith("task_type must be one of"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Ia3ConfigJson.parse("{\"peft_type\": \"IA3\", \"target_modules\": \"(\"}")).getMessage()
                .startsWith("target_modules: invalid regular expression '('"));
        assertEquals("target_modules must be a string or a list of strings, got 5", assertThrows(
                IllegalArgumentException.class, () -> Ia3ConfigJson.parse("{\"peft_type\": \"IA3\", \"target_modules\": 5}"))
                .getMessage());
        // unknown keys are warned about, not fatal
        assertEquals(Ia3Config.builder().build(), Ia3ConfigJson.parse("{\"peft_type\": \"IA3\", \"new_field\": 1}"));
    }

    @Test
    void badConfigsFailBeforeAnythingChanges() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            String before = model.describe();
            IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> PeftModel.wrap(model,
                    Ia3Config.builder().setTargetModules("nope").build(), m));
            assertTrue(t.getMessage().startsWith("target_modules [nope] matched no module of BertForSequenceClassification"),
                    t.getMessage());
            IllegalArgumentException s = assertThrows(IllegalArgumentException.class, () -> PeftModel.wrap(model,
                    Ia3Config.builder().optModulesToSave(List.of("key")).build(), m));
            assertTrue(s.getMessage().contains("is both a IA3 target and in modules_to_save"), s.getMessage());
            assertEquals(before, model.describe());
        }
    }

    @Test
    void unknownFamiliesNeedExplicitTargets() {
        try (NDManager m = NDManager.newBaseManager()) {
            dev.peft4j.core.nn.Linear lin = new dev.peft4j.core.nn.Linear(2, 2, false);
            lin.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Ia3Defaults.resolve(lin, Ia3Config.builder().build()));
            assertTrue(e.getMessage().startsWith("target_modules is required: Linear (model_type null) has no IA3 default"),
                    e.getMessage());
            IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                    () -> Ia3Defaults.resolve(lin, Ia3Config.builder().setTargetModules("x").build()));
            assertTrue(f.getMessage().startsWith("feedforward_modules is required"), f.getMessage());
            // a user's targets keep only the default feed-forward names that are targets
            BertForSequenceClassification bert = TinyClassifier.create(m);
            assertEquals(List.of(), Ia3Defaults.resolve(bert, Ia3Config.builder().setTargetModules("query").build())
                    .feedforwardModules().names());
        }
    }

    @Test
    void llamaAndQwen2DefaultsArePefts() throws Exception {
        Map<String, List<String>> expected = Map.of(
                "llama-bf16", List.of("model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.v_proj",
                        "model.layers.0.mlp.down_proj"),
                "qwen2-f32-sharded", List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                        "model.layers.0.mlp.down_proj"));
        for (Map.Entry<String, List<String>> e : expected.entrySet()) {
            try (NDManager m = NDManager.newBaseManager()) {
                LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", e.getKey()), m);
                Ia3Config resolved = Ia3Defaults.resolve(lm, Ia3Config.builder().build());
                assertEquals(List.of("down_proj"), resolved.feedforwardModules().names());
                List<String> targets = new Ia3Method().targets(lm, Ia3Config.builder().build());
                assertEquals(e.getValue(), targets.subList(0, 3), e.getKey());
                PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, Ia3Config.builder().build(), m);
                Ia3Linear down = Ia3Adapters.layers(peft).get("model.layers.0.mlp.down_proj");
                assertTrue(down.isFeedforward("default"));
                assertEquals(new ai.djl.ndarray.types.Shape(1, down.inFeatures()),
                        down.vector("default").getArray().getShape());
            }
        }
    }
}
