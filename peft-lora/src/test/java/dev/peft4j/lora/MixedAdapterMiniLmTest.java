package dev.peft4j.lora;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.bert.Prediction;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.AdapterRouting;
import dev.peft4j.core.peft.PeftModel;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mixed-adapter batches on {@code builtin:all-minilm-l6-v2}: embeddings and a classifier with a
 * {@code modules_to_save} head per adapter, each routed row as that text alone with its adapter.
 */
class MixedAdapterMiniLmTest {

    /** Against the same batch with the row's adapter active: only the adapters' row-subset matmuls differ. */
    static final double TOLERANCE = 1e-6;
    /** Against the text alone (batch 1, unpadded): float32 rounding of other matmul shapes too. */
    static final double ALONE_TOLERANCE = 2e-5;
    static final List<String> TEXTS = List.of("refund my order please", "hello", "the contract says otherwise, sadly",
            "great coffee", "where is my parcel? it has been two weeks", "ok");
    static final List<String> NAMES = List.of("x", RowRouting.BASE, "y", "z", "x", "y");

    /** Three random LoRA adapters (query/value r=4, rsLoRA on every attention projection, r=8 on dense layers). */
    static <M extends Module> PeftModel<M> threeAdapters(M model, String task, NDManager m) {
        PeftModel<M> p = PeftModel.wrap(model, LoraConfig.builder().setTargetModules("query", "value").optR(4)
                .optTaskType(task).build(), m, 5);
        p.deleteAdapter("default");
        p.addAdapter("x", LoraConfig.builder().setTargetModules("query", "value").optR(4).optTaskType(task).build());
        p.addAdapter("y", LoraConfig.builder().setTargetModules("query", "key", "value").optR(2).optUseRslora(true)
                .optTaskType(task).build());
        p.addAdapter("z", LoraConfig.builder().setTargetModules("intermediate.dense", "output.dense").optR(8)
                .optLoraAlpha(16).optTaskType(task).build());
        Random r = new Random(11);
        for (String a : List.of("x", "y", "z")) {
            for (Parameter q : p.adapterParameters(a).values()) {
                float[] v = new float[(int) q.getArray().getShape().size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) r.nextGaussian() * 0.1f;
                }
                Params.assign(q, m.create(v, q.getArray().getShape()).add(q.getArray()));
            }
        }
        p.setAdapter("x");
        return p;
    }

    @Test
    void embeddings() throws Exception {
        try (BertModel bert = BertModel.fromPretrained("builtin:all-minilm-l6-v2");
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<BertModel> p = threeAdapters(bert, "FEATURE_EXTRACTION", m);
            float[][] mixed;
            try (AdapterRouting r = p.routeRows(NAMES)) {
                mixed = bert.embed(TEXTS);
            }
            double[] err = new double[2];
            for (int i = 0; i < TEXTS.size(); i++) {
                String text = TEXTS.get(i);
                int row = i;
                err[0] = Math.max(err[0], maxAbsDiff(alone(p, NAMES.get(i), () -> bert.embed(TEXTS)[row]),
                        mixed[i]));
                err[1] = Math.max(err[1], maxAbsDiff(alone(p, NAMES.get(i), () -> bert.embed(List.of(text))[0]), mixed[i]));
            }
            System.out.println("MiniLM embeddings, routed vs batch " + err[0] + ", vs alone " + err[1]);
            assertTrue(err[0] < TOLERANCE, "routed vs the batch with the row's adapter: " + err[0]);
            assertTrue(err[1] < ALONE_TOLERANCE, "routed vs alone: " + err[1]);
            p.setAdapter("y");
            assertTrue(maxAbsDiff(bert.embed(List.of(TEXTS.get(0)))[0], mixed[0]) > 1e-3, "adapters differ");
        }
    }

    @Test
    void classifierWithAHeadPerAdapter() throws Exception {
        try (BertForSequenceClassification clf = BertForSequenceClassification.fromPretrained(
                "builtin:all-minilm-l6-v2", PretrainedOptions.builder().optLabels(List.of("neg", "neu", "pos")).build());
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<BertForSequenceClassification> p = threeAdapters(clf, "SEQ_CLS", m);
            assertTrue(p.adapterParameters("z").keySet().stream().anyMatch(k -> k.contains("classifier")),
                    "SEQ_CLS adapters save their own classifier (randomized above)");
            List<Prediction> mixed;
            try (AdapterRouting r = p.routeRows(NAMES)) {
                mixed = clf.predict(TEXTS);
            }
            double[] err = new double[2];
            for (int i = 0; i < TEXTS.size(); i++) {
                String text = TEXTS.get(i);
                int row = i;
                err[0] = Math.max(err[0], maxAbsDiff(alone(p, NAMES.get(i), () -> clf.predict(TEXTS).get(row).probabilities()),
                        mixed.get(i).probabilities()));
                err[1] = Math.max(err[1], maxAbsDiff(alone(p, NAMES.get(i),
                        () -> clf.predict(List.of(text)).get(0).probabilities()), mixed.get(i).probabilities()));
            }
            System.out.println("MiniLM classifier probabilities, routed vs batch " + err[0] + ", vs alone " + err[1]);
            assertTrue(err[0] < TOLERANCE, "routed vs the batch with the row's adapter: " + err[0]);
            assertTrue(err[1] < ALONE_TOLERANCE, "routed vs alone: " + err[1]);
            assertEquals(TEXTS.size(), mixed.size());
            assertTrue(maxAbsDiff(mixed.get(0).probabilities(), mixed.get(1).probabilities()) > 1e-4, "rows differ");
        }
    }

    private static <T> T alone(PeftModel<?> p, String adapter, java.util.function.Supplier<T> run) {
        if (adapter.equals(RowRouting.BASE)) {
            try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                return run.get();
            }
        }
        p.setAdapter(adapter);
        return run.get();
    }
}
