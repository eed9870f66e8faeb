package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.model.PretrainedAssets;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Generation for a batch of prompts at once, with a KV cache: the prompts are left-padded to the
 * longest (attention mask 0 on padding, positions counted over real tokens only, as Hugging Face's
 * {@code generate} does), run once, then one new token per row and step. Each row stops at its
 * first end-of-sequence token (kept in its result) and is fed padding afterwards; the batch ends
 * when every row stopped or after {@code maxNewTokens}. Every row has its own {@link TokenSampler}
 * from the same config, so greedy decoding gives, token for token, what {@link Generator} gives
 * for each prompt alone. Lists longer than {@link PretrainedAssets#BATCH_SIZE} run in chunks of
 * that size; every step's arrays live in a sub-manager closed at the end of the step, the cache in
 * one closed at the end of the chunk.
 *
 * <pre>{@code
 * List<GenerationResult> r = new BatchGenerator(lm).generate(manager,
 *         List.of(new long[] {1, 5, 77}, new long[] {1, 9}),
 *         GenerationConfig.builder().setMaxNewTokens(16).build());
 * }</pre>
 */
public final class BatchGenerator {

    private final LlamaForCausalLM model;
    private final int batchSize;

    /** @param model the loaded model */
    public BatchGenerator(LlamaForCausalLM model) {
        this(model, PretrainedAssets.BATCH_SIZE);
    }

    /**
     * @param model the loaded model
     * @param batchSize prompts per forward pass, at least 1
     */
    public BatchGenerator(LlamaForCausalLM model, int batchSize) {
        this.model = Objects.requireNonNull(model, "model");
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        this.batchSize = batchSize;
    }

    /**
     * @param manager the parent of the call's managers; its device is where the work runs
     * @param prompts token ids per prompt, each not empty and in {@code [0, vocab)}
     * @param config how to choose tokens and when to stop
     * @return per prompt, in order, the generated ids (prompt excluded) and why its row stopped
     */
    public List<GenerationResult> generate(NDManager manager, List<long[]> prompts, GenerationConfig config) {
        Objects.requireNonNull(config, "config");
        for (int i = 0; i < prompts.size(); i++) {
            try {
                Generator.checkIds(prompts.get(i), model.config().vocabSize());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("prompt " + i + ": " + e.getMessage(), e);
            }
        }
        Set<Long> eos = config.eosTokenIds() != null
                ? config.eosTokenIds() : new HashSet<>(model.config().eosTokenIds());
        List<GenerationResult> out = new ArrayList<>(prompts.size());
        RowRouting routing = RowRouting.find(model);
        if (routing != null) {
            routing.checkRows(prompts.size(), "generate");
        }
        for (int start = 0; start < prompts.size(); start += batchSize) {
            List<long[]> part = prompts.subList(start, Math.min(prompts.size(), start + batchSize));
            try (RowRouting.Window w = RowRouting.window(routing, start, part.size())) {
                out.addAll(chunk(manager, part, config, eos));
            }
        }
        return out;
    }

    private List<GenerationResult> chunk(NDManager manager, List<long[]> prompts, GenerationConfig config,
            Set<Long> eos) {
        int b = prompts.size();
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        int max = config.maxNewTokens();
        long[] ids = new long[b * longest];
        long[] mask = new long[b * longest];
        for (int r = 0; r < b; r++) {
            long[] p = prompts.get(r);
            int pad = longest - p.length;
            System.arraycopy(p, 0, ids, r * longest + pad, p.length);
            Arrays.fill(mask, r * longest + pad, (r + 1) * longest, 1L);
        }
        TokenSampler[] samplers = new TokenSampler[b];
        long[][] tokens = new long[b][max];
        int[] count = new int[b];
        boolean[] done = new boolean[b];
        for (int r = 0; r < b; r++) {
            samplers[r] = new TokenSampler(config);
        }
        long[] next = ids;
        int t = longest;
        int live = b;
        try (NDManager call = manager.newSubManager();
                NDManager keep = call.newSubManager();
                KvCache cache = model.newCache(call)) {
            ParameterStore ps = new ParameterStore(call, false);
            NDArray attention = keep.create(mask, new Shape(b, longest));
            for (int step = 0; step < max && live > 0; step++) {
                float[] logits;
                int vocab;
                try (NDManager scope = call.newSubManager()) {
                    NDArray input = scope.create(next, new Shape(b, t));
                    NDArray last = model.forward(ps, input, attention, null, cache, false, 1).logits();
                    vocab = (int) last.getShape().get(2);
                    logits = last.toType(DataType.FLOAT32, false).toFloatArray();
                }
                next = new long[b];
                long[] appended = new long[b];
                for (int r = 0; r < b; r++) {
                    if (done[r]) {
                        continue; // fed padding (id 0), masked out
                    }
                    long token = samplers[r].next(Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab));
                    tokens[r][count[r]++] = token;
                    next[r] = token;
                    appended[r] = 1;
                    if (eos.contains(token)) {
                        done[r] = true;
                        live--;
                    }
                }
                t = 1;
                NDArray column = keep.create(appended, new Shape(b, 1));
                NDArray grown = attention.concat(column, 1);
                column.close();
                attention.close();
                attention = grown;
            }
        }
        List<GenerationResult> out = new ArrayList<>(b);
        for (int r = 0; r < b; r++) {
            out.add(new GenerationResult(Arrays.copyOf(tokens[r], count[r]), done[r]
                    ? GenerationResult.StopReason.EOS : GenerationResult.StopReason.MAX_NEW_TOKENS));
        }
        return out;
    }
}
