package dev.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.peft4j.core.testing.Mutator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fuzzes {@link LoraConfigJson#read} with mutations of valid {@code adapter_config.json} files
 * (PEFT's own output for MiniLM, and one using most options): each either yields a configuration
 * that survives a JSON round trip unchanged, or fails with a plain {@link IllegalArgumentException}
 * naming the file (the documented error); nothing else escapes (not even an {@code
 * IllegalArgumentException} subclass such as {@link NumberFormatException}).
 */
class LoraConfigFuzzTest {

    static final long SEED = 0x10ac0L;
    static final int FILES = 2400;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** As PEFT writes it for the peft-minilm-qv fixture. */
    static final String PEFT_MINILM =
            "{\"alpha_pattern\": {}, \"base_model_name_or_path\":"
                    + " \"sentence-transformers/all-MiniLM-L6-v2\", \"bias\": \"none\","
                    + " \"fan_in_fan_out\": false, \"inference_mode\": true, \"init_lora_weights\":"
                    + " true, \"lora_alpha\": 4, \"lora_dropout\": 0.0, \"modules_to_save\": null,"
                    + " \"peft_type\": \"LORA\", \"r\": 2, \"rank_pattern\": {}, \"target_modules\":"
                    + " [\"query\", \"value\"], \"task_type\": \"FEATURE_EXTRACTION\", \"use_dora\":"
                    + " false, \"use_rslora\": false}";

    static final String MANY_OPTIONS =
            "{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16, \"lora_dropout\": 0.1,"
                    + " \"target_modules\": [\"q_proj\", \"v_proj\"], \"exclude_modules\":"
                    + " [\"lm_head\"], \"layers_to_transform\": [0, 1], \"layers_pattern\":"
                    + " \"layers\", \"bias\": \"lora_only\", \"modules_to_save\": [\"score\"],"
                    + " \"init_lora_weights\": \"gaussian\", \"use_rslora\": true,"
                    + " \"rank_pattern\": {\"q_proj\": 4}, \"alpha_pattern\": {\"v_proj\": 2.5},"
                    + " \"task_type\": \"CAUSAL_LM\"}";

    @TempDir Path dir;

    /** Values that were silently truncated, wrapped or read as 0 before (found by review of the fuzz). */
    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "\"r\": 4294967298 | r must be an integer, got 4294967298",
                "\"r\": 8.5 | r must be an integer, got 8.5",
                "\"layers_to_transform\": [\"a\"] | layers_to_transform element must be an integer, got \"a\"",
                "\"layers_to_transform\": [1.5] | layers_to_transform element must be an integer, got 1.5",
                "\"layers_to_transform\": 1e20 | layers_to_transform must be an integer, got 1.0E20",
                "\"rank_pattern\": {\"q\": 4.5} | rank_pattern['q'] must be an integer, got 4.5",
                "\"rank_pattern\": {\"q\": \"4\"} | rank_pattern['q'] must be an integer, got \"4\"",
                "\"alpha_pattern\": {\"v\": \"x\"} | alpha_pattern['v'] must be a number, got \"x\"",
                "\"alpha_pattern\": {\"v\": true} | alpha_pattern['v'] must be a number, got true",
            })
    void numbersAreNeverMisreadSilently(String member, String message) {
        String json = "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4,"
                + " \"target_modules\": [\"q\", \"v\"], " + member + "}";
        IllegalArgumentException e =
                org.junit.jupiter.api.Assertions.assertThrows(
                        IllegalArgumentException.class, () -> LoraConfigJson.parse(json));
        assertEquals(message, e.getMessage());
    }

    @Test
    void integralFloatsAreAccepted() {
        LoraConfig c = LoraConfigJson.parse("{\"peft_type\": \"LORA\", \"r\": 8.0, \"lora_alpha\": 4,"
                + " \"target_modules\": [\"q\"], \"layers_to_transform\": [0, 2.0]}");
        assertEquals(8, c.r());
        assertEquals(List.of(0, 2), c.layersToTransform());
    }

    @Test
    void mutatedAdapterConfigsParseOrFailWithIllegalArgumentException() throws IOException {
        List<String> seeds = List.of(PEFT_MINILM, MANY_OPTIONS);
        for (String s : seeds) {
            LoraConfigJson.parse(s); // valid
        }
        Mutator m = new Mutator(SEED);
        int parsed = 0;
        int rejected = 0;
        for (int i = 0; i < FILES; i++) {
            String seed = seeds.get(i % seeds.size());
            Mutator.Mutant mutant = m.mutateJson(seed, (i / seeds.size()) % 4, JSON);
            String what = mutant.what();
            byte[] bytes = mutant.bytes();
            String where = "seed " + SEED + " iteration " + i + " (" + what + "): "
                    + new String(bytes, StandardCharsets.UTF_8);
            Path file = Files.write(dir.resolve(LoraConfigJson.FILE_NAME), bytes);
            try {
                LoraConfig c = LoraConfigJson.read(dir);
                assertTrue(c.r() > 0, where);
                assertEquals(c, LoraConfigJson.parse(LoraConfigJson.toJson(c)), where);
                parsed++;
            } catch (IllegalArgumentException e) {
                assertEquals(IllegalArgumentException.class, e.getClass(), where + ": " + e);
                assertTrue(e.getMessage().startsWith(file.toString()), where + ": " + e.getMessage());
                rejected++;
            } catch (Throwable e) { // NOPMD: anything else is the bug being looked for
                fail(where + ": " + e, e);
            }
        }
        System.out.printf(
                "adapter_config.json fuzz: %d mutated configs (seed %#x): %d parsed, %d rejected"
                        + " with IllegalArgumentException, 0 other outcomes%n",
                FILES, SEED, parsed, rejected);
        assertEquals(FILES, parsed + rejected);
        assertTrue(parsed > FILES / 10, "parsed " + parsed);
        assertTrue(rejected > FILES / 3, "rejected " + rejected);
    }
}
