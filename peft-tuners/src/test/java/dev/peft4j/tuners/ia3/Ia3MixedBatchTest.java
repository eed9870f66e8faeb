package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.AdapterRouting;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.train.TinyClassifier;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.Quantizer;
import dev.peft4j.tuners.bitfit.BitFitConfig;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Supplier;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mixed-adapter batches with IA³ (output and feed-forward input scaling side by side): MiniLM
 * embeddings and tiny Llama logits over an NF4 base, each routed row as with its adapter active;
 * methods whose layers cannot route rows say so.
 */
class Ia3MixedBatchTest {

    static final double TOLERANCE = 1e-6;
    static final double ALONE_TOLERANCE = 2e-5;
    static final List<String> TEXTS = List.of("refund my order please", "hello", "the contract says otherwise, sadly",
            "great coffee", "where is my parcel? it has been two weeks");
    static final List<String> NAMES = List.of("ffn", RowRouting.BASE, "default", "kv", "ffn");

    /** PEFT's default targets, key/value only, and feed-forward only; every vector random around 1. */
    static <M extends dev.peft4j.core.nn.Module> PeftModel<M> threeAdapters(M model, List<String> kv,
            List<String> ffn, NDManager m) {
        PeftModel<M> p = PeftModel.wrap(model, Ia3Config.builder().build(), m, 3);
        p.addAdapter("kv", Ia3Config.builder().setTargetModules(kv.toArray(String[]::new)).setFeedforwardModules()
                .build());
        p.addAdapter("ffn", Ia3Config.builder().setTargetModules(ffn.toArray(String[]::new))
                .setFeedforwardModules(ffn.get(1)).build());
        Ia3ModelTest.randomize(p, "default", 1);
        Ia3ModelTest.randomize(p, "kv", 2);
        Ia3ModelTest.randomize(p, "ffn", 3);
        return p;
    }

    private static <T> T with(PeftModel<?> p, String adapter, Supplier<T> run) {
        if (adapter.equals(RowRouting.BASE)) {
            try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                return run.get();
            }
        }
        p.setAdapter(adapter);
        return run.get();
    }

    @Test
    void miniLmEmbeddings() throws Exception {
        try (BertModel bert = BertModel.fromPretrained("builtin:all-minilm-l6-v2");
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<BertModel> p = threeAdapters(bert, List.of("key", "value"),
                    List.of("intermediate.dense", "output.dense"), m);
            float[][] mixed;
            try (AdapterRouting r = p.routeRows(NAMES)) {
                mixed = bert.embed(TEXTS);
            }
            double batch = 0;
            double alone = 0;
            for (int i = 0; i < TEXTS.size(); i++) {
                int row = i;
                batch = Math.max(batch, maxAbsDiff(with(p, NAMES.get(i), () -> bert.embed(TEXTS)[row]), mixed[i]));
                alone = Math.max(alone, maxAbsDiff(with(p, NAMES.get(i), () -> bert.embed(List.of(TEXTS.get(row)))[0]),
                        mixed[i]));
            }
            System.out.println("IA3 MiniLM embeddings, routed vs batch " + batch + ", vs alone " + alone);
            assertTrue(batch < TOLERANCE, "routed vs the batch with the row's adapter: " + batch);
            assertTrue(alone < ALONE_TOLERANCE, "routed vs alone: " + alone);
            assertTrue(maxAbsDiff(mixed[0], with(p, "kv", () -> bert.embed(TEXTS)[0])) > 1e-3, "adapters differ");
        }
    }

    @Test
    void tinyLlamaOverNf4() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            Quantizer.quantizeModules(lm, QuantizationConfig.builder().setQuantType(QuantType.NF4).build());
            PeftModel<LlamaForCausalLM> p = threeAdapters(lm, List.of("k_proj", "v_proj"),
                    List.of("up_proj", "down_proj"), m);
            NDArray ids = m.create(new long[][] {{1, 5, 9, 14}, {3, 4, 5, 6}, {9, 8, 7, 6}, {20, 21, 22, 23},
                {1, 5, 9, 2}});
            Supplier<NDArray> run = () -> lm.forward(new ParameterStore(m, false), ids, null, null, null, false)
                    .logits();
            NDArray mixed;
            try (AdapterRouting r = p.routeRows(NAMES)) {
                mixed = run.get();
            }
            double err = 0;
            for (int i = 0; i < NAMES.size(); i++) {
                NDArray whole = with(p, NAMES.get(i), run);
                err = Math.max(err, maxAbsDiff(whole.get(new NDIndex("{}", i)).toFloatArray(),
                        mixed.get(new NDIndex("{}", i)).toFloatArray()));
            }
            System.out.println("IA3 tiny Llama NF4, routed vs batch " + err);
            assertTrue(err < TOLERANCE, "routed vs the batch with the row's adapter: " + err);
        }
    }

    @Test
    void methodsThatCannotRouteSaySo() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            PeftModel<LlamaForCausalLM> prompt = PeftModel.wrap(lm, PromptTuningConfig.builder().setNumVirtualTokens(2)
                    .build(), m, 1);
            assertEquals("PROMPT_TUNING adapters cannot run in mixed-adapter batches (adapter names per row): only"
                    + " methods whose layers route rows (LORA, IA3) can", assertThrows(
                    UnsupportedOperationException.class, () -> prompt.routeRows(List.of("default"))).getMessage());
            prompt.unload();
            PeftModel<LlamaForCausalLM> bn = PeftModel.wrap(lm, BottleneckConfig.parBn().build(), m, 1);
            assertTrue(assertThrows(UnsupportedOperationException.class, () -> bn.routeRows(List.of("default")))
                    .getMessage().startsWith("BOTTLENECK"));
            bn.unload();
            PeftModel<?> bitfit = PeftModel.wrap(TinyClassifier.create(m), BitFitConfig.builder().build(), m, 1);
            assertTrue(assertThrows(UnsupportedOperationException.class, () -> bitfit.routeRows(List.of("default")))
                    .getMessage().startsWith("BITFIT"));
        }
    }
}
