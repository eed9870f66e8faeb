package dev.peft4j.quant.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.quant.BlockwiseDequantizer;
import dev.peft4j.quant.BlockwiseQuantizer;
import dev.peft4j.quant.NDArrayDequantizer;
import dev.peft4j.quant.QuantStateDict;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.QuantizedTensor;
import dev.peft4j.quant.StateTensor;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Throughput of 4-bit quantization and dequantization (GB/s of float32 data) for a 4096×4096
 * matrix on the CPU, beside a plain float32 copy of the same matrix measured in the same run
 * (median, min and max of the runs), and the storage cost in bits per parameter of a 384×1536
 * layer with and without double quantization. Not a unit test: run it by hand.
 *
 * <pre>
 * mvn -B -q -o -pl peft-quant -am test-compile dependency:build-classpath \
 *     -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -Xmx3g -cp peft-quant/target/test-classes:peft-quant/target/classes:$(cat peft-quant/target/cp.txt) \
 *     dev.peft4j.quant.bench.QuantBench [runs]
 * </pre>
 */
public final class QuantBench {

    private static final int N = 4096;

    private QuantBench() {}

    /** A timed operation. */
    private interface Op {
        void run() throws Exception;
    }

    /**
     * @param args optional: the number of timed runs (default 7, at least 5)
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int runs = Math.max(5, args.length > 0 ? Integer.parseInt(args[0]) : 7);
        System.out.printf(Locale.ROOT, "QuantBench: %dx%d float32 (%d MB), %d runs, %d CPUs,"
                        + " load average %.2f, Java %s%n",
                N, N, 4L * N * N >> 20, runs, Runtime.getRuntime().availableProcessors(),
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                System.getProperty("java.version"));
        float[] x = gaussian(N * N, 42);
        long bytes = 4L * N * N;
        BlockwiseQuantizer nf4dq =
                BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).optDoubleQuant(true).build();
        BlockwiseQuantizer nf4 = BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).build();
        float[] copy = new float[x.length];
        QuantizedTensor q = nf4dq.quantize(x, N, N);

        report("float32 copy (Java, System.arraycopy)", bytes, runs,
                () -> System.arraycopy(x, 0, copy, 0, x.length));
        report("quantize NF4 + double quant (Java)", bytes, runs, () -> nf4dq.quantize(x, N, N));
        report("quantize NF4 (Java)", bytes, runs, () -> nf4.quantize(x, N, N));
        report("dequantize NF4 + double quant (Java)", bytes, runs,
                () -> BlockwiseDequantizer.dequantize(q));
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray dense = m.create(x, new Shape(N, N));
            NDArray packed = NDArrayDequantizer.packed(q, m);
            NDArray absmax = NDArrayDequantizer.blockAbsmax(q.state(), m);
            report("float32 copy (NDArray duplicate)", bytes, runs, () -> {
                try (NDArray d = dense.duplicate()) {
                    d.getShape();
                }
            });
            report("dequantize NF4 (NDArray, device-resident codes and scales)", bytes, runs, () -> {
                try (NDManager sub = m.newSubManager()) {
                    packed.tempAttach(sub);
                    absmax.tempAttach(sub);
                    NDArrayDequantizer.dequantize(packed, absmax, q.state(), DataType.FLOAT32);
                }
            });
            report("dequantize NF4 + double quant (NDArray, from QuantizedTensor)", bytes, runs, () -> {
                try (NDManager sub = m.newSubManager()) {
                    NDArrayDequantizer.dequantize(q, sub);
                }
            });
        }
        float[] layer = gaussian(384 * 1536, 7);
        for (boolean dq : new boolean[] {true, false}) {
            QuantizedTensor t = BlockwiseQuantizer.quantize(layer, new long[] {1536, 384},
                    QuantType.NF4, 64, dq);
            long perParam = 0;
            long total = 0;
            for (Map.Entry<String, StateTensor> e : QuantStateDict.toStateDict("w", t).entrySet()) {
                long b = e.getValue().data().length;
                total += b;
                String k = e.getKey();
                if (k.equals("w") || k.equals("w.absmax") || k.equals("w.nested_absmax")) {
                    perParam += b;
                }
            }
            double n = layer.length;
            System.out.printf(Locale.ROOT,
                    "bits/param 384x1536 NF4 blocksize 64 %s: %.4f (codes + scales), %.4f (all"
                            + " state-dict bytes incl. code tables and JSON)%n",
                    dq ? "double quant" : "no double quant", perParam * 8 / n, total * 8 / n);
        }
    }

    private static void report(String what, long bytes, int runs, Op op) throws Exception {
        op.run(); // warm-up
        op.run();
        double[] gbs = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            op.run();
            long t = System.nanoTime() - t0;
            gbs[i] = bytes / (double) t;
        }
        Arrays.sort(gbs);
        System.out.printf(Locale.ROOT, "%-62s median %7.3f GB/s  (min %.3f, max %.3f)%n",
                what, gbs[runs / 2], gbs[0], gbs[runs - 1]);
    }

    private static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        return x;
    }
}
