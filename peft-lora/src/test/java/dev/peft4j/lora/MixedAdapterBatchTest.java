package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.model.llama.BatchGenerator;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.GenerationResult;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.AdapterRouting;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.Quantizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mixed-adapter batches with LoRA on the tiny Llama fixture: a routed batch (rows in mixed order,
 * right padding, {@code __base__} among them) gives each row what it gets alone with its adapter
 * active; generation routes through the KV cache; a 4-bit base routes too; bad calls fail first.
 */
class MixedAdapterBatchTest {

    /** Routing against the same batch shape: only the adapter matmuls on row subsets differ. */
    static final double TOLERANCE = 1e-6;
    /** Against a row alone (batch 1, unpadded): float32 rounding of other matmul shapes too. */
    static final double ALONE_TOLERANCE = 2e-5;
    static final List<String> NAMES = List.of("b", RowRouting.BASE, "a", "c", "a", "b");
    static final long[][] ROWS = {{1, 5, 9, 14}, {3, 4, 5, 6, 7, 8}, {9, 8}, {20, 21, 22, 23, 24}, {1, 5, 9, 14, 2}, {7}};

    /** Three LoRA adapters of different shapes (plain, rsLoRA all-linear, r=8 on k/o) with random A and B. */
    static PeftModel<LlamaForCausalLM> threeAdapters(LlamaForCausalLM lm, NDManager m) {
        PeftModel<LlamaForCausalLM> p = PeftModel.wrap(lm, LoraConfig.builder().setTargetModules("q_proj", "v_proj")
                .optR(4).optLoraAlpha(8).build(), m, 1);
        p.deleteAdapter("default");
        p.addAdapter("a", LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(4).optLoraAlpha(8).build());
        p.addAdapter("b", LoraConfig.builder().setTargetModules(TargetModules.allLinear()).optR(2).optUseRslora(true)
                .build());
        p.addAdapter("c", LoraConfig.builder().setTargetModules("k_proj", "o_proj").optR(8).optLoraAlpha(16).build());
        Random r = new Random(42);
        for (String a : List.of("a", "b", "c")) {
            for (Parameter q : p.adapterParameters(a).values()) {
                float[] v = new float[(int) q.getArray().getShape().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) r.nextGaussian() * 0.3f;
                }
                Params.assign(q, m.create(v, q.getArray().getShape()));
            }
        }
        p.setAdapter("a");
        return p;
    }

    static LlamaForCausalLM tinyLlama(NDManager m) throws Exception {
        return LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
    }

    /** Logits of one row alone (no padding) with its adapter active, or with adapters disabled for the base. */
    static float[] alone(PeftModel<LlamaForCausalLM> p, String adapter, long[] ids, NDManager m) {
        if (adapter.equals(RowRouting.BASE)) {
            try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                return logits(p.baseModel(), new long[][] {ids}, m).toFloatArray();
            }
        }
        p.setAdapter(adapter);
        return logits(p.baseModel(), new long[][] {ids}, m).toFloatArray();
    }

    /** Right-padded batch logits {@code [B, T, vocab]}. */
    static NDArray logits(LlamaForCausalLM lm, long[][] rows, NDManager m) {
        int t = 0;
        for (long[] r : rows) {
            t = Math.max(t, r.length);
        }
        long[][] ids = new long[rows.length][t];
        long[][] mask = new long[rows.length][t];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, ids[i], 0, rows[i].length);
            for (int j = 0; j < rows[i].length; j++) {
                mask[i][j] = 1;
            }
        }
        return lm.forward(new ParameterStore(m, false), m.create(ids), m.create(mask), null, null, false).logits();
    }

    /**
     * @return the largest difference of a routed row from (0) the same padded batch run with the
     *     row's adapter active (or disabled) for every row, and (1) the row run alone, unpadded;
     *     (2) the largest logit
     */
    static double[] rowErrors(PeftModel<LlamaForCausalLM> p, NDManager m) {
        NDArray batch;
        try (AdapterRouting r = p.routeRows(NAMES)) {
            batch = logits(p.baseModel(), ROWS, m);
        }
        double[] err = {0, 0, batch.abs().max().getFloat()};
        for (int i = 0; i < ROWS.length; i++) {
            NDIndex at = new NDIndex("{}, :{}", i, ROWS[i].length);
            float[] row = batch.get(at).toFloatArray();
            String a = NAMES.get(i);
            NDArray whole;
            if (a.equals(RowRouting.BASE)) {
                try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                    whole = logits(p.baseModel(), ROWS, m);
                }
            } else {
                p.setAdapter(a);
                whole = logits(p.baseModel(), ROWS, m);
            }
            err[0] = Math.max(err[0], maxAbsDiff(whole.get(at).toFloatArray(), row));
            err[1] = Math.max(err[1], maxAbsDiff(alone(p, a, ROWS[i], m), row));
        }
        return err;
    }

    @Test
    void eachRowAsAlone() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<LlamaForCausalLM> p = threeAdapters(tinyLlama(m), m);
            float[] a = alone(p, "a", ROWS[0], m);
            assertTrue(maxAbsDiff(a, alone(p, "b", ROWS[0], m)) > 1e-2, "the adapters differ");
            assertTrue(maxAbsDiff(a, alone(p, RowRouting.BASE, ROWS[0], m)) > 1e-2, "and differ from the base");
            p.setAdapter("c");
            try (AdapterRouting r = p.routeRows(NAMES)) {
                logits(p.baseModel(), ROWS, m);
            }
            assertEquals("c", p.activeAdapter(), "closing the routing runs the active adapter again");
            float[] after = logits(p.baseModel(), new long[][] {ROWS[0]}, m).toFloatArray();
            assertArrayEquals(alone(p, "c", ROWS[0], m), after);
            double[] err = rowErrors(p, m);
            System.out.println("fp32 base: routed vs batch " + err[0] + ", vs alone " + err[1] + ", max |logit| " + err[2]);
            assertTrue(err[0] < TOLERANCE, "routed row vs the batch with its adapter active: " + err[0]);
            assertTrue(err[1] < ALONE_TOLERANCE, "routed row vs alone: " + err[1]);
        }
    }

    @Test
    void fourBitBase() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = tinyLlama(m);
            assertEquals(14, Quantizer.quantizeModules(lm, QuantizationConfig.builder().setQuantType(QuantType.NF4)
                    .build()).size());
            double[] err = rowErrors(threeAdapters(lm, m), m);
            System.out.println("nf4 base: routed vs batch " + err[0] + ", vs alone " + err[1] + ", max |logit| " + err[2]);
            assertTrue(err[0] < TOLERANCE, "4-bit base, routed row vs the batch with its adapter active: " + err[0]);
            assertTrue(err[1] < ALONE_TOLERANCE, "4-bit base, routed row vs alone: " + err[1]);
        }
    }

    @Test
    void generationRoutesEveryStepThroughTheCache() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<LlamaForCausalLM> p = threeAdapters(tinyLlama(m), m);
            GenerationConfig greedy = GenerationConfig.builder().setMaxNewTokens(6).build();
            List<long[]> prompts = new ArrayList<>(List.of(ROWS));
            List<GenerationResult> mixed;
            try (AdapterRouting r = p.routeRows(NAMES)) {
                // batches of 4: the second pass routes rows 4 and 5
                mixed = new BatchGenerator(p.baseModel(), 4).generate(m, prompts, greedy);
            }
            boolean differ = false;
            for (int i = 0; i < prompts.size(); i++) {
                String a = NAMES.get(i);
                List<GenerationResult> one;
                if (a.equals(RowRouting.BASE)) {
                    try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                        one = p.baseModel().generateIds(List.of(prompts.get(i)), greedy);
                    }
                } else {
                    p.setAdapter(a);
                    one = p.baseModel().generateIds(List.of(prompts.get(i)), greedy);
                    try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                        differ |= !Arrays.equals(one.get(0).tokens(),
                                p.baseModel().generateIds(List.of(prompts.get(i)), greedy).get(0).tokens());
                    }
                }
                assertArrayEquals(one.get(0).tokens(), mixed.get(i).tokens(), "row " + i + " (" + a + ")");
            }
            assertTrue(differ, "some adapter changes what is generated");
        }
    }

    @Test
    void badCallsFailBeforeComputing() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<LlamaForCausalLM> p = threeAdapters(tinyLlama(m), m);
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                    () -> p.routeRows(List.of("a", "nope")));
            assertEquals("unknown adapter 'nope' for row 1; loaded adapters: [a, b, c] (or __base__ for the base model)",
                    unknown.getMessage());
            try (AdapterRouting r = p.routeRows(List.of("a", "b"))) {
                IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
                        () -> logits(p.baseModel(), ROWS, m));
                assertTrue(rows.getMessage().startsWith("the batch has 6 rows but 2 adapter names were given"),
                        rows.getMessage());
                assertEquals("forward got 6 inputs but 2 adapter names", assertThrows(IllegalArgumentException.class,
                        () -> p.forward(new ParameterStore(m, false), new NDList(m.create(ROWS[3], new Shape(1, 5)).repeat(0, 6)), false)).getMessage());
                IllegalStateException training = assertThrows(IllegalStateException.class,
                        () -> p.forward(new ParameterStore(m, false), new NDList(
                                m.create(ROWS[0], new Shape(1, 4)).repeat(0, 2)), true));
                assertTrue(training.getMessage().contains("for inference"), training.getMessage());
                assertThrows(IllegalStateException.class, () -> p.routeRows(List.of("a")));
                assertThrows(IllegalStateException.class, p::merge);
                assertThrows(IllegalStateException.class, () -> p.setAdapter("b"));
            }
            p.merge();
            IllegalStateException merged = assertThrows(IllegalStateException.class, () -> p.routeRows(List.of("a")));
            assertEquals("cannot route rows to adapters while adapters are merged; call unmerge() first",
                    merged.getMessage());
            p.unmerge();
            p.addAdapter("dora", LoraConfig.builder().setTargetModules("q_proj").optUseDora(true).build());
            IllegalArgumentException dora = assertThrows(IllegalArgumentException.class,
                    () -> p.routeRows(List.of("a", "dora")));
            assertEquals("adapter 'dora' of model.layers.0.self_attn.q_proj is DoRA, which cannot run in mixed-adapter"
                    + " batches (PEFT refuses it too)", dora.getMessage());
            try (AdapterRouting r = p.routeRows(List.of("a", RowRouting.BASE))) {
                assertTrue(r.isOpen());
            }
            assertFalse(p.isMerged());
        }
    }
}
