package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.peft.PeftModel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reading and comparing trained adapters. */
final class DataParallelTrainingTestSupport {

    private DataParallelTrainingTestSupport() {}

    static Map<String, float[]> values(Map<String, NDArray> arrays) {
        Map<String, float[]> out = new LinkedHashMap<>();
        arrays.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    /** @return the tensors of the adapter saved in {@code dir}, loaded onto a fresh base */
    static Map<String, float[]> savedAdapter(ModelSource<BertForSequenceClassification> source, Path dir)
            throws IOException {
        try (BertForSequenceClassification base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            return values(PeftModel.load(base, dir, m).adapterStateDict(PeftModel.DEFAULT_ADAPTER));
        }
    }

    /** @return max over tensors of max |a − b| / (1 + |b|) */
    static double maxDeviation(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(b.keySet(), a.keySet());
        double worst = 0;
        for (String k : b.keySet()) {
            float[] x = a.get(k);
            float[] y = b.get(k);
            for (int i = 0; i < y.length; i++) {
                worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1 + Math.abs(y[i])));
            }
        }
        return worst;
    }
}
