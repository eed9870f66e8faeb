package dev.peft4j.lora;

import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraConfigTest {

    private static LoraConfig.Builder qv() {
        return LoraConfig.builder().setTargetModules("query", "value");
    }

    @Test
    void defaultsArePeft() {
        LoraConfig c = qv().build();
        assertEquals(8, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertEquals(0.0, c.loraDropout());
        assertEquals(LoraBias.NONE, c.bias());
        assertEquals(LoraInit.DEFAULT, c.initLoraWeights());
        assertFalse(c.useRslora() || c.useDora() || c.fanInFanOut() || c.inferenceMode());
        assertNull(c.modulesToSave());
        assertNull(c.layersToTransform());
        assertEquals(1.0, c.scalingFor("a.query"));
    }

    @Test
    void scalingRankAndAlphaPatterns() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("layer\\.1\\.attention\\.query", 4);
        ranks.put("value", 2);
        LoraConfig c = qv().optR(16).optLoraAlpha(32).optRankPattern(ranks)
                .optAlphaPattern(Map.of("query", 8.0)).build();
        assertEquals(2.0, c.scalingFor("layer.0.attention.key"));
        assertEquals(16, c.rankFor("layer.0.attention.query"));
        assertEquals(8.0 / 16, c.scalingFor("layer.0.attention.query"));
        assertEquals(4, c.rankFor("layer.1.attention.query"));
        assertEquals(8.0 / 4, c.scalingFor("layer.1.attention.query"));
        assertEquals(2, c.rankFor("layer.1.attention.value"));
        assertEquals(16, c.rankFor("layer.1.attention.xvalue"), "key must be a whole dotted name");
        LoraConfig rs = qv().optR(16).optLoraAlpha(32).optUseRslora(true).build();
        assertEquals(8.0, rs.scalingFor("x.query"));
    }

    @Test
    void invalidValuesFailInBuildNamingTheField() {
        assertEquals("r must be positive, got 0",
                assertThrows(IllegalArgumentException.class, () -> qv().optR(0).build()).getMessage());
        assertEquals("lora_dropout must be in [0, 1), got 1.0",
                assertThrows(IllegalArgumentException.class, () -> qv().optLoraDropout(1).build()).getMessage());
        assertEquals("lora_dropout must be in [0, 1), got -0.1",
                assertThrows(IllegalArgumentException.class, () -> qv().optLoraDropout(-0.1).build()).getMessage());
        assertEquals("bias must be one of none, all, lora_only, got 'some'",
                assertThrows(IllegalArgumentException.class, () -> LoraBias.fromJson("some")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> qv().optRankPattern(Map.of("(q", 2)).build())
                .getMessage().startsWith("rank_pattern key '(q' is not a valid regular expression"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> qv().optAlphaPattern(Map.of("[", 2.0)).build())
                .getMessage().startsWith("alpha_pattern key '[' is not a valid regular expression"));
        assertEquals("rank_pattern['q'] must be positive, got 0",
                assertThrows(IllegalArgumentException.class, () -> qv().optRankPattern(Map.of("q", 0)).build()).getMessage());
        assertEquals("target_modules is required (peft4j has no per-architecture default)",
                assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().build()).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> qv().optTaskType("CLS").build())
                .getMessage().startsWith("task_type must be one of [CAUSAL_LM, "));
        assertEquals("layers_pattern [layer] is given without layers_to_transform",
                assertThrows(IllegalArgumentException.class, () -> qv().optLayersPattern(List.of("layer")).build()).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraInit.fromJson("olora"))
                .getMessage().startsWith("init_lora_weights must be true, false"));
    }

    @Test
    void jsonIsPeftsLayout() {
        LoraConfig c = qv().optR(2).optLoraAlpha(4).optTaskType("FEATURE_EXTRACTION")
                .optBaseModelNameOrPath("sentence-transformers/all-MiniLM-L6-v2").build();
        assertEquals("{\n"
                + "  \"alpha_pattern\": {},\n"
                + "  \"base_model_name_or_path\": \"sentence-transformers/all-MiniLM-L6-v2\",\n"
                + "  \"bias\": \"none\",\n"
                + "  \"exclude_modules\": null,\n"
                + "  \"fan_in_fan_out\": false,\n"
                + "  \"inference_mode\": false,\n"
                + "  \"init_lora_weights\": true,\n"
                + "  \"layers_pattern\": null,\n"
                + "  \"layers_to_transform\": null,\n"
                + "  \"lora_alpha\": 4,\n"
                + "  \"lora_dropout\": 0.0,\n"
                + "  \"modules_to_save\": null,\n"
                + "  \"peft_type\": \"LORA\",\n"
                + "  \"r\": 2,\n"
                + "  \"rank_pattern\": {},\n"
                + "  \"target_modules\": [\n"
                + "    \"query\",\n"
                + "    \"value\"\n"
                + "  ],\n"
                + "  \"task_type\": \"FEATURE_EXTRACTION\",\n"
                + "  \"use_dora\": false,\n"
                + "  \"use_rslora\": false\n"
                + "}", LoraConfigJson.toJson(c));
        LoraConfig full = qv().optR(3).optLoraAlpha(1.5).optLoraDropout(0.25).optBias(LoraBias.LORA_ONLY)
                .optExcludeModules(TargetModules.parse(".*\\.1\\..*")).optModulesToSave(List.of("classifier"))
                .optInitLoraWeights(LoraInit.pissa(4)).optUseDora(true).optUseRslora(true)
                .optRankPattern(Map.of("query", 2)).optAlphaPattern(Map.of("value", 3.0))
                .optLayersToTransform(List.of(0, 1)).optLayersPattern(List.of("layer")).optInferenceMode(true).build();
        assertEquals(full, LoraConfigJson.parse(LoraConfigJson.toJson(full)));
    }

    @Test
    void readsPeftFixtureConfigAndIgnoresUnknownKeys() throws Exception {
        Path dir = Fixtures.fixture("peft-minilm-qv");
        LoraConfig c = LoraConfigJson.read(dir);
        assertEquals(2, c.r());
        assertEquals(4.0, c.loraAlpha());
        assertEquals(List.of("query", "value"), c.targetModules().names());
        assertEquals("FEATURE_EXTRACTION", c.taskType());
        assertTrue(c.inferenceMode());
        LoraConfig newer = LoraConfigJson.parse("{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8,"
                + " \"target_modules\": \"all-linear\", \"megatron_config\": null, \"lora_bias\": false}");
        assertTrue(newer.targetModules().isAllLinear());
    }

    @Test
    void readErrorsNameTheKey() {
        assertEquals("missing required key 'target_modules'", assertThrows(IllegalArgumentException.class,
                () -> LoraConfigJson.parse("{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8}")).getMessage());
        assertEquals("peft_type must be \"LORA\", got \"IA3\"", assertThrows(IllegalArgumentException.class,
                () -> LoraConfigJson.parse("{\"peft_type\": \"IA3\", \"r\": 4, \"lora_alpha\": 8,"
                        + " \"target_modules\": [\"q\"]}")).getMessage());
        assertEquals("r must be an integer, got \"4\"", assertThrows(IllegalArgumentException.class,
                () -> LoraConfigJson.parse("{\"peft_type\": \"LORA\", \"r\": \"4\", \"lora_alpha\": 8,"
                        + " \"target_modules\": [\"q\"]}")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> LoraConfigJson.parse("{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8,"
                        + " \"target_modules\": \"(q\"}")).getMessage().startsWith("target_modules: invalid regular expression"));
    }
}
