package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GeneratorTest {

    private static final long[] PROMPT = {3, 17, 42, 8};

    private static NDManager manager;
    private static LlamaForCausalLM lm;

    @BeforeAll
    static void build() {
        manager = NDManager.newBaseManager();
        lm = LlamaTestSupport.randomModel(LlamaConfig.of(LlamaTestSupport.tinyConfig("llama"), "tiny"), manager, 11);
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static GenerationConfig.Builder cfg(int n) {
        return GenerationConfig.builder().setMaxNewTokens(n).optEosTokenIds();
    }

    private static long[] generate(GenerationConfig c) {
        return new Generator(lm).generate(manager, PROMPT, c).tokens();
    }

    @Test
    void greedyEqualsArgmaxOfFullRecompute() {
        GenerationResult r = new Generator(lm).generate(manager, PROMPT, cfg(10).build());
        assertEquals(GenerationResult.StopReason.MAX_NEW_TOKENS, r.stopReason());
        long[] got = r.tokens();
        assertEquals(10, got.length);
        long[] seq = Arrays.copyOf(PROMPT, PROMPT.length + got.length);
        System.arraycopy(got, 0, seq, PROMPT.length, got.length);
        try (NDManager m = manager.newSubManager()) {
            float[] logits = lm.forward(new ParameterStore(m, false), m.create(seq, new Shape(1, seq.length)),
                    null, null, null, false).logits().toFloatArray();
            for (int i = 0; i < got.length; i++) {
                int t = PROMPT.length - 1 + i;
                float[] row = Arrays.copyOfRange(logits, t * 64, (t + 1) * 64);
                assertEquals(TokenSampler.argMax(row), got[i], "token " + i);
            }
        }
        assertTrue(Arrays.stream(got).distinct().count() > 1, "a random model should not repeat one token");
    }

    @Test
    void seededSamplingIsReproducible() {
        GenerationConfig c = cfg(12).optTemperature(1.0f).optTopP(0.95f).optSeed(1234).build();
        long[] first = generate(c);
        assertArrayEquals(first, generate(c));
        assertEquals(12, first.length);
        long[] other = generate(cfg(12).optTemperature(1.0f).optTopP(0.95f).optSeed(99).build());
        assertFalse(Arrays.equals(first, other), "another seed should sample differently");
    }

    @Test
    void topKOneEqualsGreedy() {
        long[] greedy = generate(cfg(8).build());
        assertArrayEquals(greedy, generate(cfg(8).optTemperature(1.5f).optTopK(1).optSeed(5).build()));
    }

    @Test
    void stopsAtEndOfSequence() {
        long[] greedy = generate(cfg(8).build());
        GenerationResult r = new Generator(lm).generate(manager, PROMPT,
                GenerationConfig.builder().setMaxNewTokens(8).optEosTokenIds(greedy[2], 63).build());
        int firstEos = 0;
        while (greedy[firstEos] != greedy[2]) {
            firstEos++;
        }
        assertArrayEquals(Arrays.copyOf(greedy, firstEos + 1), r.tokens());
        assertEquals(GenerationResult.StopReason.EOS, r.stopReason());
    }

    @Test
    void leavesNoArraysBehind() {
        try (NDManager m = manager.newSubManager()) {
            int before = LlamaTestSupport.resourceCount(m);
            int root = LlamaTestSupport.resourceCount(manager);
            new Generator(lm).generate(m, PROMPT, cfg(6).optTemperature(0.8f).optSeed(3).build());
            assertEquals(before, LlamaTestSupport.resourceCount(m));
            assertEquals(root, LlamaTestSupport.resourceCount(manager));
        }
    }

    @Test
    void rejectsBadPromptsAndSettings() {
        Generator g = new Generator(lm);
        GenerationConfig c = cfg(2).build();
        assertEquals("the prompt must hold at least one token id",
                assertThrows(IllegalArgumentException.class, () -> g.generate(manager, new long[0], c)).getMessage());
        assertEquals("token id 64 is outside the vocabulary [0, 64)",
                assertThrows(IllegalArgumentException.class, () -> g.generate(manager, new long[] {1, 64}, c))
                        .getMessage());
        assertEquals("GenerationConfig: maxNewTokens is required (setMaxNewTokens)",
                assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().build()).getMessage());
        assertEquals("GenerationConfig: maxNewTokens must be positive, got 0",
                assertThrows(IllegalArgumentException.class, () -> cfg(0).build()).getMessage());
        assertEquals("GenerationConfig: temperature must be >= 0 and finite, got -1.0",
                assertThrows(IllegalArgumentException.class, () -> cfg(1).optTemperature(-1).build()).getMessage());
        assertEquals("GenerationConfig: topK must be >= 0, got -2",
                assertThrows(IllegalArgumentException.class, () -> cfg(1).optTopK(-2).build()).getMessage());
        assertEquals("GenerationConfig: topP must be in (0, 1], got 0.0",
                assertThrows(IllegalArgumentException.class, () -> cfg(1).optTopP(0).build()).getMessage());
    }

    @Test
    void samplerFiltersLikeHuggingFace() {
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        int[] counts = new int[3];
        TokenSampler nucleus = new TokenSampler(cfg(1).optTemperature(1).optTopP(0.6f).optSeed(1).build());
        for (int i = 0; i < 2000; i++) {
            counts[nucleus.next(logits)]++;
        }
        assertEquals(0, counts[2], "0.5 + 0.3 reaches top_p 0.6: token 2 is cut");
        assertEquals(0.625, counts[0] / 2000.0, 0.04, "renormalized 0.5 / 0.8");

        TokenSampler half = new TokenSampler(cfg(1).optTemperature(1).optTopP(0.5f).optSeed(1).build());
        for (int i = 0; i < 50; i++) {
            assertEquals(0, half.next(logits), "0.5 alone reaches top_p 0.5");
        }
        counts = new int[3];
        TokenSampler topTwo = new TokenSampler(cfg(1).optTemperature(1).optTopK(2).optSeed(2).build());
        for (int i = 0; i < 2000; i++) {
            counts[topTwo.next(logits)]++;
        }
        assertEquals(0, counts[2]);
        assertTrue(counts[1] > 500);
        counts = new int[3];
        TokenSampler cold = new TokenSampler(cfg(1).optTemperature(0.25f).optSeed(3).build());
        for (int i = 0; i < 2000; i++) {
            counts[cold.next(logits)]++;
        }
        // p ∝ p^4: 0.0625, 0.0081, 0.0016 => token 0 with probability 0.8653
        assertEquals(0.8653, counts[0] / 2000.0, 0.03);
        assertEquals(1, TokenSampler.argMax(new float[] {1, 3, 3, 2}), "first maximum wins");

        float[] mixed = {-1f, 2f, 2f, -3f, 0.5f, -0f};
        java.util.Set<Integer> seen = new java.util.TreeSet<>();
        TokenSampler top3 = new TokenSampler(cfg(1).optTemperature(5).optTopK(3).optSeed(4).build());
        for (int i = 0; i < 500; i++) {
            seen.add(top3.next(mixed));
        }
        assertEquals(java.util.Set.of(1, 2, 4), seen, "the three largest of mixed signs");
    }
}
