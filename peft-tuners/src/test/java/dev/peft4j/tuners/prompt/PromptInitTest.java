package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Prompt tuning's initializations on the tiny Llama: TEXT, SAMPLE_VOCAB, RANDOM; the sizes PEFT fills. */
class PromptInitTest {

    @TempDir Path dir;

    private static float[] table(PeftModel<?> peft) {
        return peft.adapterStateDict("default").get("prompt_embeddings").toFloatArray();
    }

    private static float[] row(float[] words, long id) {
        return Arrays.copyOfRange(words, (int) id * 32, (int) id * 32 + 32);
    }

    /** The tiny tokenizer with a post-processor adding {@code <s>} (id 3) in front, as Llama's adds BOS. */
    private Path tokenizerWithBos() throws IOException {
        String json = TinyTokenizer.json().replace("\"post_processor\":null",
                "\"post_processor\":{\"type\":\"TemplateProcessing\","
                + "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                + "\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],"
                + "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[3],\"tokens\":[\"<s>\"]}}}");
        assertFalse(json.equals(TinyTokenizer.json()));
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, json);
        return dir;
    }

    @Test
    void textInitTakesTheTokensWithSpecialTokensRepeatedOrTruncated() throws IOException {
        Path tok = tokenizerWithBos();
        long good = TinyTokenizer.id("good");
        long tea = TinyTokenizer.id("tea");
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), manager);
            float[] words = lm.model().child("embed_tokens").parameter("weight").getArray().toFloatArray();
            for (int n : new int[] {5, 2}) {
                PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, PromptTuningConfig.builder()
                        .setNumVirtualTokens(n).optPromptTuningInit(PromptTuningInit.TEXT)
                        .optPromptTuningInitText("good tea").optTokenizerNameOrPath(tok.toString()).build(), manager);
                long[] want = n == 5 ? new long[] {3, good, tea, 3, good} : new long[] {3, good};
                float[] t = table(peft);
                for (int i = 0; i < n; i++) {
                    assertArrayEquals(row(words, want[i]), Arrays.copyOfRange(t, i * 32, i * 32 + 32), "row " + i);
                }
                peft.unload();
            }
        }
    }

    @Test
    void sampleVocabTakesWordRowsAndRandomIsStandardNormalAndSeeded() throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), manager);
            float[] words = lm.model().child("embed_tokens").parameter("weight").getArray().toFloatArray();
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, PromptTuningConfig.builder().setNumVirtualTokens(6)
                    .optPromptTuningInit(PromptTuningInit.SAMPLE_VOCAB).build(), manager, 9);
            float[] t = table(peft);
            for (int i = 0; i < 6; i++) {
                float[] r = Arrays.copyOfRange(t, i * 32, i * 32 + 32);
                boolean found = false;
                for (int id = 0; id < 128 && !found; id++) {
                    found = Arrays.equals(r, row(words, id));
                }
                assertTrue(found, "row " + i + " is a word embedding");
            }
            PromptTuningConfig resolved = (PromptTuningConfig) peft.config("default");
            assertEquals(32, resolved.tokenDim());
            assertEquals(2, resolved.numLayers());
            assertEquals(4, resolved.numAttentionHeads());
            assertEquals(1, resolved.numTransformerSubmodules());
            peft.unload();

            PeftModel<LlamaForCausalLM> random = PeftModel.wrap(lm, PromptTuningConfig.builder()
                    .setNumVirtualTokens(64).build(), manager, 4);
            NDArray a = random.adapterStateDict("default").get("prompt_embeddings");
            float[] values = a.toFloatArray();
            double mean = 0;
            double sq = 0;
            for (float v : values) {
                mean += v;
                sq += v * v;
            }
            mean /= values.length;
            double std = Math.sqrt(sq / values.length - mean * mean);
            assertEquals(0, mean, 0.05, "N(0, 1) mean over 2048 draws");
            assertEquals(1, std, 0.05, "N(0, 1) std over 2048 draws");
            random.unload();
            PeftModel<LlamaForCausalLM> again = PeftModel.wrap(lm, PromptTuningConfig.builder()
                    .setNumVirtualTokens(64).build(), manager, 4);
            assertArrayEquals(values, table(again), 0f, "same seed, same prompt");
        }
    }
}
