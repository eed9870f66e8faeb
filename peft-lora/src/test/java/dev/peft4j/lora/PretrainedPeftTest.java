package dev.peft4j.lora;

import dev.peft4j.core.peft.PeftModel;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.bert.Prediction;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The typed models' inference runs the adapted model when LoRA is injected in place, and a merged
 * model saved with {@code savePretrained} loads back predicting the same.
 */
class PretrainedPeftTest {

    private static final List<String> TEXTS = List.of("The coffee was great.", "Stale and bitter, never again.",
            "ok", "Arrived late but tastes fine.");

    @Test
    void predictRunsTheAdaptedModelAndTheMergedExportLoadsBack(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("merged");
        List<Prediction> merged;
        ai.djl.engine.Engine.getInstance().setRandomSeed(11);
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(
                Builtins.ALL_MINILM_L6_V2, PretrainedOptions.builder().optNumLabels(3).optPooling(Pooling.MEAN)
                        .build())) {
            List<Prediction> base = model.predict(TEXTS);
            NDManager owner = model.assets().owner().orElseThrow();
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, LoraConfig.builder().setTargetModules("query", "value").optR(4)
                    .optLoraAlpha(8).optModulesToSave(List.of("classifier")).build(), owner, 1);
            assertEquals(base, model.predict(TEXTS), "B = 0: the adapter changes nothing yet");
            Random random = new Random(3);
            for (LoraLinear l : LoraAdapters.loraLayers(peft).values()) {
                var b = l.loraB(PeftModel.DEFAULT_ADAPTER).parameter("weight");
                Shape shape = b.getArray().getShape();
                float[] v = new float[(int) shape.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) random.nextGaussian() * 0.2f;
                }
                Params.assign(b, owner.create(v, shape));
            }
            List<Prediction> adapted = model.predict(TEXTS);
            assertTrue(maxDiff(base, adapted) > 1e-3, "the adapter changes the predictions: " + maxDiff(base, adapted));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> model.savePretrained(dir));
            assertTrue(e.getMessage().endsWith("it is an adapter layer (LoraLinear); merge the adapter first"
                    + " (mergeAndUnload)"), e.getMessage());

            Module out = peft.mergeAndUnload();
            assertSame(model, out, "mergeAndUnload returns the same typed model");
            merged = model.predict(TEXTS);
            assertTrue(maxDiff(adapted, merged) < 1e-5, "merged vs adapted: " + maxDiff(adapted, merged));
            model.savePretrained(dir);
        }
        try (BertForSequenceClassification back = BertForSequenceClassification.fromPretrained(dir.toString())) {
            assertEquals(List.of(), back.newlyInitialized());
            assertEquals(merged, back.predict(TEXTS));
        }
    }

    private static double maxDiff(List<Prediction> a, List<Prediction> b) {
        double d = 0;
        for (int i = 0; i < a.size(); i++) {
            float[] x = a.get(i).probabilities();
            float[] y = b.get(i).probabilities();
            for (int k = 0; k < x.length; k++) {
                d = Math.max(d, Math.abs(x[k] - y[k]));
            }
        }
        return d;
    }
}
