package dev.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.nn.Params;

import dev.peft4j.core.peft.PeftModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Two {@link PeftModel}s over BERT models that share every base weight array (one base in
 * memory), with different adapters (query/value r=4 and query/key/value r=2), run inference from
 * several threads at once: every output equals the single-threaded one.
 */
class ConcurrentInferenceTest {

    static final int THREADS = 4;
    static final int ROUNDS = 6;
    static final int INPUTS = 12;

    @Test
    void twoAdaptersOverOneSharedBaseGiveTheSingleThreadedOutputsFromManyThreads() throws Exception {
        BertConfig config = BertConfig.builder().setVocabSize(200).setHiddenSize(64).setNumHiddenLayers(2)
                .setNumAttentionHeads(4).setIntermediateSize(128).optMaxPositionEmbeddings(64).build();
        try (NDManager m = NDManager.newBaseManager()) {
            Random r = new Random(11);
            BertModel baseA = new BertModel(config, false);
            BertModel baseB = new BertModel(config, false);
            Map<String, Parameter> pa = baseA.namedParameters();
            Map<String, Parameter> pb = baseB.namedParameters();
            for (String path : pa.keySet()) {
                int dot = path.lastIndexOf('.');
                Shape shape = baseA.getModule(path.substring(0, dot)).expectedShape(path.substring(dot + 1));
                NDArray shared = random(m, shape, r, path.contains("LayerNorm") && path.endsWith("weight"));
                Params.assign(pa.get(path), shared);
                Params.assign(pb.get(path), shared);
            }
            PeftModel<?> a = PeftModel.wrap(baseA, LoraConfig.builder().setTargetModules("query", "value")
                    .optR(4).optLoraAlpha(8).build(), m, 1);
            PeftModel<?> b = PeftModel.wrap(baseB, LoraConfig.builder().setTargetModules("query", "key", "value")
                    .optR(2).optLoraAlpha(2).build(), m, 2);
            for (PeftModel p : List.of(a, b)) {
                p.namedParameters().forEach((path, param) -> {
                    if (path.contains("lora_B")) { // PEFT initializes B to 0: make the adapters matter
                        Params.assign(param, random(m, param.getArray().getShape(), r, false));
                    }
                });
            }
            String q = "encoder.layer.0.attention.self.query.base_layer.weight";
            assertSame(baseA.namedParameters().get(q).getArray(), baseB.namedParameters().get(q).getArray(),
                    "one base in memory");

            List<long[]> inputs = new ArrayList<>();
            for (int i = 0; i < INPUTS; i++) {
                long[] ids = new long[4 + r.nextInt(40)];
                for (int j = 0; j < ids.length; j++) {
                    ids[j] = r.nextInt(200);
                }
                inputs.add(ids);
            }
            List<BertModel> models = List.of(baseA, baseB);
            float[][][] expected = new float[2][INPUTS][];
            for (int k = 0; k < 2; k++) {
                for (int i = 0; i < INPUTS; i++) {
                    expected[k][i] = embed(models.get(k), inputs.get(i), m);
                }
            }
            assertTrue(maxDiff(expected[0][0], expected[1][0]) > 1e-2, "the adapters differ");

            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<Integer>> futures = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    Callable<Integer> work = () -> {
                        Random order = new Random(thread);
                        int checked = 0;
                        for (int round = 0; round < ROUNDS; round++) {
                            for (int n = 0; n < 2 * INPUTS; n++) {
                                int k = order.nextInt(2);
                                int i = order.nextInt(INPUTS);
                                float[] got = embed(models.get(k), inputs.get(i), m);
                                assertArrayEquals(expected[k][i], got, 1e-6f,
                                        "thread " + thread + ", model " + k + ", input " + i);
                                checked++;
                            }
                        }
                        return checked;
                    };
                    futures.add(pool.submit(work));
                }
                int total = 0;
                for (Future<Integer> f : futures) {
                    total += f.get();
                }
                assertEquals(THREADS * ROUNDS * 2 * INPUTS, total);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static float[] embed(BertModel model, long[] ids, NDManager parent) {
        try (NDManager scope = parent.newSubManager()) {
            NDArray x = scope.create(new long[][] {ids});
            return model.embed(new ParameterStore(scope, false), x, scope.ones(x.getShape())).toFloatArray();
        }
    }

    private static NDArray random(NDManager m, Shape shape, Random r, boolean aroundOne) {
        float[] v = new float[(int) shape.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((aroundOne ? 1 : 0) + 0.2 * r.nextGaussian());
        }
        return m.create(v, shape);
    }

    private static double maxDiff(float[] x, float[] y) {
        double d = 0;
        for (int i = 0; i < x.length; i++) {
            d = Math.max(d, Math.abs(x[i] - y[i]));
        }
        return d;
    }
}
