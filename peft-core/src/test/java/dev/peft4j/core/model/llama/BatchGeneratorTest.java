package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batched generation ({@link BatchGenerator}, {@link LlamaForCausalLM#generateIds}, {@link
 * LlamaForCausalLM#generate}) against one-prompt {@link Generator}, and {@code fromPretrained}/{@code
 * savePretrained} on the tiny shared checkpoints.
 */
class BatchGeneratorTest {

    /** Prompts of lengths 5, 1, 8 and 3: the batch is left-padded by up to 7 tokens. */
    private static final List<long[]> PROMPTS = List.of(new long[] {1, 5, 77, 30, 2}, new long[] {9},
            new long[] {3, 4, 5, 6, 7, 8, 9, 10}, new long[] {1, 100, 64});

    private static GenerationConfig greedy(int n, long... eos) {
        return GenerationConfig.builder().setMaxNewTokens(n).optEosTokenIds(eos).build();
    }

    private static List<GenerationResult> oneByOne(LlamaForCausalLM lm, NDManager m, List<long[]> prompts,
            GenerationConfig c) {
        List<GenerationResult> out = new ArrayList<>();
        for (long[] p : prompts) {
            out.add(new Generator(lm).generate(m, p, c));
        }
        return out;
    }

    private static void assertSame(List<GenerationResult> want, List<GenerationResult> got) {
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) {
            assertArrayEquals(want.get(i).tokens(), got.get(i).tokens(), "prompt " + i);
            assertEquals(want.get(i).stopReason(), got.get(i).stopReason(), "prompt " + i);
        }
    }

    /** Greedy batched generation equals per-prompt greedy generation token for token (both fixtures). */
    @Test
    void greedyBatchEqualsOneByOneOnTheFixtures() throws IOException {
        for (String name : List.of("llama-bf16", "qwen2-f32-sharded")) {
            Path dir = LlamaTestSupport.tinyCausalLm().resolve(name);
            try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
                NDManager owner = lm.assets().owner().orElseThrow();
                GenerationConfig c = greedy(12);
                List<GenerationResult> want = oneByOne(lm, owner, PROMPTS, c);
                int before = owner.getManagedArrays().size();
                List<GenerationResult> got = lm.generateIds(PROMPTS, c);
                assertEquals(before, owner.getManagedArrays().size(), name + ": arrays left behind");
                assertSame(want, got);
                for (GenerationResult r : got) {
                    assertEquals(12, r.tokens().length);
                    assertEquals(GenerationResult.StopReason.MAX_NEW_TOKENS, r.stopReason());
                }
                assertTrue(lm.tokenizer().isEmpty(), "the fixtures have no tokenizer.json");
            }
        }
    }

    /**
     * A row stops at its own end-of-sequence token (kept), the others go on: the end token is
     * the 4th token prompt 0 generates alone.
     */
    @Test
    void eachRowStopsAtItsOwnEos() throws IOException {
        Path dir = LlamaTestSupport.tinyCausalLm().resolve("llama-bf16");
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
            NDManager owner = lm.assets().owner().orElseThrow();
            long eos = new Generator(lm).generate(owner, PROMPTS.get(0), greedy(10)).tokens()[3];
            GenerationConfig c = greedy(10, eos);
            List<GenerationResult> want = oneByOne(lm, owner, PROMPTS, c);
            List<GenerationResult> got = lm.generateIds(PROMPTS, c);
            assertSame(want, got);
            assertEquals(GenerationResult.StopReason.EOS, got.get(0).stopReason());
            assertTrue(got.get(0).tokens().length <= 4);
            assertEquals(eos, got.get(0).tokens()[got.get(0).tokens().length - 1]);
            assertTrue(got.stream().anyMatch(r -> r.stopReason() == GenerationResult.StopReason.MAX_NEW_TOKENS),
                    "some row runs to max new tokens");
        }
    }

    /** 40 prompts in chunks of 4 (and of the default 32) equal one-by-one generation, and seeded sampling too. */
    @Test
    void chunksAndSamplingMatchOneByOne() {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaTestSupport.randomModel(
                    LlamaConfig.of(LlamaTestSupport.tinyConfig("qwen2"), "tiny"), m, 5);
            List<long[]> prompts = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                long[] p = new long[1 + i % 6];
                for (int k = 0; k < p.length; k++) {
                    p[k] = (i * 7 + k * 13) % 64;
                }
                prompts.add(p);
            }
            GenerationConfig c = greedy(6);
            List<GenerationResult> want = oneByOne(lm, m, prompts, c);
            assertSame(want, new BatchGenerator(lm, 4).generate(m, prompts, c));
            assertSame(want, new BatchGenerator(lm).generate(m, prompts, c));

            GenerationConfig sampled = GenerationConfig.builder().setMaxNewTokens(6).optEosTokenIds()
                    .optTemperature(0.8f).optTopK(10).optSeed(3).build();
            assertSame(oneByOne(lm, m, prompts.subList(0, 5), sampled),
                    new BatchGenerator(lm).generate(m, prompts.subList(0, 5), sampled));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new BatchGenerator(lm).generate(m, List.of(new long[] {1}, new long[] {64}), c));
            assertEquals("prompt 1: token id 64 is outside the vocabulary [0, 64)", e.getMessage());
            assertEquals(0, new BatchGenerator(lm).generate(m, List.of(), c).size());
        }
    }

    /** Saved and loaded back, the model computes the same logits; the sharded bf16/f32 sources become one F32 file. */
    @Test
    void savesAndLoadsBackWithIdenticalLogits(@TempDir Path tmp) throws IOException {
        for (String name : List.of("llama-bf16", "qwen2-f32-sharded")) {
            Path dir = LlamaTestSupport.tinyCausalLm().resolve(name);
            Path out = tmp.resolve(name);
            long[] ids = {1, 5, 77, 30, 2, 9, 64, 100};
            float[] before;
            try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
                before = logits(lm, ids);
                lm.savePretrained(out);
            }
            JsonNode config = LlamaTestSupport.MAPPER.readTree(out.resolve("config.json").toFile());
            assertEquals("float32", config.get("torch_dtype").asText());
            assertEquals(LlamaTestSupport.MAPPER.readTree(dir.resolve("config.json").toFile()).get("model_type"),
                    config.get("model_type"));
            try (Stream<Path> s = Files.list(out)) {
                assertEquals(List.of("config.json", "model.safetensors"),
                        s.map(p -> p.getFileName().toString()).sorted().toList());
            }
            try (LlamaForCausalLM back = LlamaForCausalLM.fromPretrained(out.toString())) {
                assertArrayEquals(before, logits(back, ids), name);
            }
            try (TensorSource s = TensorSources.open(out)) {
                assertTrue(s.names().contains("model.embed_tokens.weight"));
            }
        }
    }

    /** Text in, text out with a word-level tokenizer.json over the fixture's 128 ids. */
    @Test
    void generatesTextWhenTheDirectoryHasATokenizer(@TempDir Path tmp) throws IOException {
        Path src = LlamaTestSupport.tinyCausalLm().resolve("llama-bf16");
        Path dir = Files.createDirectories(tmp.resolve("with-tokenizer"));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("tokenizer.json"), wordLevelTokenizer(128));
        List<String> prompts = List.of("w5 w77 w30", "w9", "w3 w4 w5 w6 w7 w8");
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
            GenerationConfig c = greedy(6);
            List<String> text = lm.generate(prompts, c);
            NDManager owner = lm.assets().owner().orElseThrow();
            for (int i = 0; i < prompts.size(); i++) {
                long[] ids = lm.tokenizer().orElseThrow().encode(prompts.get(i)).ids();
                assertEquals(prompts.get(i).split(" ").length, ids.length);
                long[] want = new Generator(lm).generate(owner, ids, c).tokens();
                StringBuilder sb = new StringBuilder();
                for (long t : want) {
                    if (t > 2) { // <unk>, <s>, </s> are special and skipped
                        sb.append(sb.length() == 0 ? "" : " ").append("w").append(t);
                    }
                }
                assertEquals(sb.toString(), text.get(i), "prompt " + i);
            }
            Path saved = tmp.resolve("saved");
            lm.savePretrained(saved);
            assertEquals(Files.readString(dir.resolve("tokenizer.json")), Files.readString(saved.resolve("tokenizer.json")));
        }
    }

    @Test
    void textGenerationWithoutATokenizerSaysWhatToUse() throws IOException {
        Path dir = LlamaTestSupport.tinyCausalLm().resolve("llama-bf16");
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> lm.generate(List.of("hi"), greedy(2)));
            assertTrue(e.getMessage().endsWith("generate(texts) needs a tokenizer and the model has none"
                    + " (no tokenizer.json); use generateIds"), e.getMessage());
        }
    }

    private static float[] logits(LlamaForCausalLM lm, long[] ids) {
        try (NDManager m = lm.assets().owner().orElseThrow().newSubManager()) {
            return lm.forward(new ParameterStore(m, false), m.create(ids, new Shape(1, ids.length)), null, null, null,
                    false).logits().toFloatArray();
        }
    }

    /** A tokenizers-format word-level vocabulary: {@code <unk>, <s>, </s>, w3 .. w(n-1)}, split on spaces. */
    static String wordLevelTokenizer(int n) {
        ObjectNode root = LlamaTestSupport.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] special = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < special.length; i++) {
            added.addObject().put("id", i).put("content", special[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < n; i++) {
            vocab.put(i < special.length ? special[i] : "w" + i, i);
        }
        model.put("unk_token", "<unk>");
        return root.toString();
    }
}
