package dev.peft4j.core.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.bert.BertModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Measures, on this machine: the DJL float32 GEMM peak (1024³ and 2048³ products), the
 * all-MiniLM-L6-v2 forward on a batch of 32 × 128 tokens (milliseconds, GFLOP/s, fraction of the
 * GEMM peak), and loading MiniLM (seconds, peak RSS). Medians of {@code runs} after warm-up.
 *
 * <p>Run with the test classpath, e.g.:
 *
 * <pre>
 * mvn -q -o -pl peft-core test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp peft-core/target/test-classes:peft-core/target/classes:$(cat peft-core/target/cp.txt) \
 *     dev.peft4j.core.bench.MiniLmForwardBench [runs]
 * </pre>
 */
public final class MiniLmForwardBench {

    private static final int BATCH = 32;
    private static final int TOKENS = 128;

    private MiniLmForwardBench() {}

    /**
     * @param args optional number of timed runs (default 7)
     * @throws IOException when /proc cannot be read
     */
    public static void main(String[] args) throws IOException {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        Engine engine = Engine.getInstance();
        System.out.printf(Locale.ROOT, "engine %s %s, %d processors, VmHWM at start %s%n",
                engine.getEngineName(), engine.getVersion(), Runtime.getRuntime().availableProcessors(), vmHwm());

        double peak = 0;
        for (int n : new int[] {1024, 2048}) {
            double ms = gemmMillis(n, runs);
            double gflops = 2.0 * n * n * n / (ms * 1e6);
            peak = Math.max(peak, gflops);
            System.out.printf(Locale.ROOT, "gemm f32 %d^3: %.2f ms median, %.1f GFLOP/s%n", n, ms, gflops);
        }

        try (NDManager manager = NDManager.newBaseManager()) {
            long t0 = System.nanoTime();
            BertModel model = MiniLm.load(manager);
            double loadS = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "load %s: %.2f s, VmHWM %s%n", MiniLm.describe(), loadS, vmHwm());

            BertConfig c = model.config();
            double flops = forwardFlops(c, BATCH, TOKENS);
            double ms = forwardMillis(model, manager, runs);
            double gflops = flops / (ms * 1e6);
            System.out.printf(Locale.ROOT,
                    "MiniLM forward %dx%d: %.1f ms median, %.2f GFLOP (GEMMs), %.1f GFLOP/s, %.0f%% of GEMM peak%n",
                    BATCH, TOKENS, ms, flops / 1e9, gflops, 100 * gflops / peak);
            System.out.printf(Locale.ROOT, "VmHWM at end %s%n", vmHwm());
        }
    }

    /**
     * FLOPs of the matrix products of one forward: per layer 4·(2·B·T·H·H) for q, k, v and the
     * attention output, 2·(2·B·T·H·I) for the MLP, 2·(2·B·T·T·H) for scores and context.
     */
    static double forwardFlops(BertConfig c, long b, long t) {
        double h = c.hiddenSize();
        double i = c.intermediateSize();
        double perLayer = 4 * (2 * b * t * h * h) + 2 * (2 * b * t * h * i) + 2 * (2 * b * t * t * h);
        return perLayer * c.numHiddenLayers();
    }

    private static double gemmMillis(int n, int runs) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomUniform(-1, 1, new Shape(n, n));
            NDArray b = m.randomUniform(-1, 1, new Shape(n, n));
            double[] t = new double[runs];
            for (int r = -2; r < runs; r++) {
                try (NDManager scope = m.newSubManager()) {
                    a.tempAttach(scope);
                    long t0 = System.nanoTime();
                    NDArray c = a.matMul(b);
                    double ms = (System.nanoTime() - t0) / 1e6;
                    c.close();
                    if (r >= 0) {
                        t[r] = ms;
                    }
                }
            }
            return median(t);
        }
    }

    private static double forwardMillis(BertModel model, NDManager manager, int runs) {
        ParameterStore ps = new ParameterStore(manager, false);
        long[] ids = new long[BATCH * TOKENS];
        java.util.Random rnd = new java.util.Random(0);
        for (int k = 0; k < ids.length; k++) {
            ids[k] = k % TOKENS == 0 ? 101 : k % TOKENS == TOKENS - 1 ? 102 : 1000 + rnd.nextInt(20000);
        }
        double[] t = new double[runs];
        for (int r = -2; r < runs; r++) {
            try (NDManager scope = manager.newSubManager()) {
                NDArray x = scope.create(ids, new Shape(BATCH, TOKENS));
                NDArray mask = scope.ones(new Shape(BATCH, TOKENS), DataType.INT64);
                long t0 = System.nanoTime();
                NDArray out = model.forward(ps, x, mask, null, false).lastHiddenState();
                double ms = (System.nanoTime() - t0) / 1e6;
                if (out.getShape().get(2) != model.config().hiddenSize()) {
                    throw new IllegalStateException(out.getShape().toString());
                }
                if (r >= 0) {
                    t[r] = ms;
                }
            }
        }
        return median(t);
    }

    private static double median(double[] t) {
        double[] s = t.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** @return the process's peak resident set size (VmHWM) as /proc reports it */
    static String vmHwm() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return line.substring(6).trim();
            }
        }
        return "?";
    }
}
