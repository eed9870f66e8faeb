package dev.peft4j.minilm;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.bert.BertModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Measures, on this machine: loading {@code builtin:all-minilm-l6-v2} from its jar (seconds, peak
 * RSS from {@code /proc/self/status} VmHWM, measured first so nothing else raised it), the DJL
 * float32 GEMM peak (1024³ and 2048³ products), and the MiniLM forward on a batch of 32 × 128
 * tokens (milliseconds, GFLOP/s, fraction of the GEMM peak). Timings are medians of {@code runs}
 * after two warm-up runs; GEMMs and forward passes are interleaved so that other processes' load
 * affects both alike. Not a test: run it by hand.
 *
 * <p>On a machine shared with other busy processes, PyTorch's OpenMP threads spin at the barrier
 * ending every operation while a sibling thread is descheduled, and a forward (about 20 parallel
 * operations per layer) suffers far more than one large GEMM: with 2 intra-op threads on 2 busy
 * cores the forward fell to 35-40% of the GEMM peak. {@code OMP_WAIT_POLICY=PASSIVE} (or {@code
 * -Dai.djl.pytorch.num_threads=1}) avoids that; on an idle machine the default is best.
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

        try (NDManager manager = NDManager.newBaseManager()) {
            String before = vmHwm();
            long t0 = System.nanoTime();
            BertModel model;
            BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
            try (TensorSource weights = builtin.openWeights()) {
                model = BertModel.load(weights, HfConfig.of(builtin.config(), builtin.id()), manager);
            }
            double loadS = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "load %s from the jar: %.2f s, VmHWM %s before, %s after (%d parameters)%n",
                    builtin.id(), loadS, before, vmHwm(), model.parameterCount());

            // GEMMs and forward passes are interleaved so that load from other processes on a
            // shared machine affects the peak and the forward alike.
            BertConfig c = model.config();
            double flops = forwardFlops(c, BATCH, TOKENS);
            int[] sizes = {1024, 2048};
            double[][] gemm = new double[sizes.length][runs];
            double[] forward = new double[runs];
            try (NDManager scope = manager.newSubManager()) {
                NDArray ids = inputIds(scope);
                NDArray mask = scope.ones(new Shape(BATCH, TOKENS), DataType.INT64);
                ParameterStore ps = new ParameterStore(manager, false);
                for (int r = -2; r < runs; r++) {
                    for (int k = 0; k < sizes.length; k++) {
                        double ms = gemmMillis(scope, sizes[k]);
                        if (r >= 0) {
                            gemm[k][r] = ms;
                        }
                    }
                    double ms = forwardMillis(model, ps, ids, mask);
                    if (r >= 0) {
                        forward[r] = ms;
                    }
                }
            }
            double peak = 0;
            for (int k = 0; k < sizes.length; k++) {
                double n = sizes[k];
                double ms = median(gemm[k]);
                double gflops = 2.0 * n * n * n / (ms * 1e6);
                peak = Math.max(peak, gflops);
                System.out.printf(Locale.ROOT, "gemm f32 %d^3: %.2f ms median, %.1f GFLOP/s%n", sizes[k], ms, gflops);
            }
            System.out.printf(Locale.ROOT, "forward runs (ms): %s%n", Arrays.toString(
                    Arrays.stream(forward).map(x -> Math.round(x * 10) / 10.0).toArray()));
            double ms = median(forward);
            double gflops = flops / (ms * 1e6);
            System.out.printf(Locale.ROOT,
                    "MiniLM forward %dx%d: %.1f ms median (min %.1f), %.2f GFLOP (GEMMs), %.1f GFLOP/s,"
                            + " %.0f%% of GEMM peak%n",
                    BATCH, TOKENS, ms, Arrays.stream(forward).min().orElse(0), flops / 1e9, gflops,
                    100 * gflops / peak);
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

    private static double gemmMillis(NDManager manager, int n) {
        try (NDManager m = manager.newSubManager()) {
            NDArray a = m.randomUniform(-1, 1, new Shape(n, n));
            NDArray b = m.randomUniform(-1, 1, new Shape(n, n));
            long t0 = System.nanoTime();
            a.matMul(b);
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    /** [CLS] random ids [SEP], 32 × 128. */
    private static NDArray inputIds(NDManager manager) {
        long[] ids = new long[BATCH * TOKENS];
        java.util.Random rnd = new java.util.Random(0);
        for (int k = 0; k < ids.length; k++) {
            ids[k] = k % TOKENS == 0 ? 101 : k % TOKENS == TOKENS - 1 ? 102 : 1000 + rnd.nextInt(20000);
        }
        return manager.create(ids, new Shape(BATCH, TOKENS));
    }

    private static double forwardMillis(BertModel model, ParameterStore ps, NDArray ids, NDArray mask) {
        try (NDManager scope = ids.getManager().newSubManager()) {
            ids.tempAttach(scope);
            long t0 = System.nanoTime();
            NDArray out = model.forward(ps, ids, mask, null, false).lastHiddenState();
            double ms = (System.nanoTime() - t0) / 1e6;
            if (out.getShape().get(2) != model.config().hiddenSize()) {
                throw new IllegalStateException(out.getShape().toString());
            }
            return ms;
        }
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
