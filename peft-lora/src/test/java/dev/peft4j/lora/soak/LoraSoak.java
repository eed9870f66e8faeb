package dev.peft4j.lora.soak;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.train.AdapterTrainer;
import dev.peft4j.core.train.RandomBatchSampler;
import dev.peft4j.core.train.StepOutput;
import dev.peft4j.core.train.TrainStep;
import dev.peft4j.core.train.TrainingConfig;
import dev.peft4j.core.nn.WeightLoader;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLoader;
import dev.peft4j.core.peft.PeftModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A native-memory soak: LoRA (query/value, r=8) training on {@code builtin:all-minilm-l6-v2} with
 * synthetic batches (4 × 16 tokens, mean-pooled embeddings regressed onto fixed random targets),
 * sampling the resident set size every {@code every} steps after a warm-up. The slope is the
 * Theil–Sen estimate ({@link #slope}), in bytes per 100 steps.
 */
public final class LoraSoak {

    static final int EXAMPLES = 64;
    static final int BATCH = 4;
    static final int TOKENS = 16;

    /** The result of a soak. */
    public record Result(long steps, List<long[]> samples, double slopeBytesPer100, double msPerStep) {
        @Override
        public String toString() {
            StringBuilder s = new StringBuilder();
            for (long[] x : samples) {
                s.append(' ').append(x[0]).append(':').append(x[1] / (1024 * 1024)).append("MB");
            }
            return String.format(java.util.Locale.ROOT,
                    "%d steps, %.1f ms/step, RSS slope after warm-up (Theil-Sen) %.3f MB per 100 steps; samples%s",
                    steps, msPerStep, slopeBytesPer100 / (1024.0 * 1024.0), s);
        }
    }

    private LoraSoak() {}

    /**
     * Runs a soak in this JVM and prints {@code SOAK <slope bytes per 100 steps> <summary>}.
     *
     * @param args steps, warm-up, sampling interval, output directory, {@code nf4} for QLoRA
     * @throws Exception when training fails
     */
    public static void main(String[] args) throws Exception {
        Result r = run(Integer.parseInt(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                Path.of(args[3]), args[4].equals("nf4"));
        System.out.println("SOAK " + r.slopeBytesPer100() + " " + r.samples().size() + " " + r);
    }

    /**
     * Runs a soak in a child JVM whose heap is fixed and pre-touched (so heap growth does not
     * show up as resident memory growth), and returns its {@code SOAK} line. The child uses one
     * PyTorch thread: on a shared, busy machine two OpenMP threads spin at every operation's
     * barrier and a step took 1.2 s instead of 55 ms.
     *
     * @param steps optimizer steps
     * @param warmup steps before the first sample
     * @param every steps between samples
     * @param dir a scratch directory
     * @param nf4 QLoRA: the base's linear layers in NF4
     * @return the child's {@code SOAK} line split into slope, sample count and summary
     * @throws Exception when the child fails
     */
    public static String[] runInChild(int steps, int warmup, int every, Path dir, boolean nf4) throws Exception {
        Path err = dir.resolve("soak.err");
        Process p = dev.peft4j.core.testing.ChildJvm.start(
                List.of("-Xms768m", "-Xmx768m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC",
                        "-Dai.djl.pytorch.num_threads=1"), LoraSoak.class, err,
                Integer.toString(steps), Integer.toString(warmup), Integer.toString(every),
                dir.resolve("out").toString(), nf4 ? "nf4" : "f32");
        String line = null;
        try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(
                p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                if (l.startsWith("SOAK ")) {
                    line = l;
                }
            }
        }
        int code = p.waitFor();
        if (code != 0 || line == null) {
            throw new IllegalStateException("soak child exited with " + code + ": " + Files.readString(err));
        }
        return line.substring(5).split(" ", 3);
    }

    /**
     * Runs the soak.
     *
     * @param steps optimizer steps
     * @param warmup steps before the first sample
     * @param every steps between samples
     * @param out an empty output directory for the trainer
     * @param nf4 QLoRA: the base's linear layers quantized to NF4 while loading
     * @return the samples and fitted slope
     * @throws Exception when loading or training fails
     */
    public static Result run(int steps, int warmup, int every, Path out, boolean nf4) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
            BertModel bert;
            try (TensorSource weights = builtin.openWeights()) {
                bert = BertModel.load(weights, HfConfig.of(builtin.config(), builtin.id()), m, nf4
                        ? QuantizedLoader.quantizing(QuantizationConfig.builder().setQuantType(QuantType.NF4).build())
                        : WeightLoader.FULL_PRECISION);
            }
            PeftModel<?> peft = PeftModel.wrap(bert, LoraConfig.builder().setTargetModules("query", "value")
                    .optR(8).optLoraAlpha(16).optLoraDropout(0.1).build(), m);
            Random r = new Random(5);
            long[][] ids = new long[EXAMPLES][TOKENS];
            float[][] targets = new float[EXAMPLES][384];
            for (int i = 0; i < EXAMPLES; i++) {
                for (int t = 0; t < TOKENS; t++) {
                    ids[i][t] = 1000 + r.nextInt(20000);
                }
                for (int d = 0; d < 384; d++) {
                    targets[i][d] = (float) (0.1 * r.nextGaussian());
                }
            }
            TrainStep step = (ps, manager, batch, training) -> {
                long[] x = new long[batch.size() * TOKENS];
                float[] y = new float[batch.size() * 384];
                for (int i = 0; i < batch.size(); i++) {
                    System.arraycopy(ids[batch.get(i)], 0, x, i * TOKENS, TOKENS);
                    System.arraycopy(targets[batch.get(i)], 0, y, i * 384, 384);
                }
                NDArray in = manager.create(x, new Shape(batch.size(), TOKENS));
                NDArray mask = manager.ones(in.getShape());
                NDArray pooled = Pooling.MEAN.pool(bert.forward(ps, in, mask, null, training), mask);
                NDArray loss = pooled.sub(manager.create(y, new Shape(batch.size(), 384))).square().mean();
                return StepOutput.of(loss);
            };
            List<long[]> samples = new ArrayList<>();
            long[] t0 = {0};
            AdapterTrainer trainer = AdapterTrainer.builder().setModel(peft)
                    .setConfig(TrainingConfig.builder().setOutputDir(out).setEpochs(1).optMaxSteps(steps)
                            .optLearningRate(1e-4).optProgressBar(false).optTrainingCurve(false).build())
                    .setBatchSampler(new RandomBatchSampler(EXAMPLES, BATCH, true, false))
                    .setTrainStep(step)
                    .addListener(s -> {
                        if (s.step() == warmup) {
                            t0[0] = System.nanoTime();
                        }
                        if (s.step() >= warmup && (s.step() - warmup) % every == 0) {
                            samples.add(new long[] {s.step(), residentBytes()});
                        }
                    })
                    .build();
            trainer.train();
            double ms = (System.nanoTime() - t0[0]) / 1e6 / Math.max(1, steps - warmup);
            return new Result(steps, samples, slope(samples) * 100, ms);
        }
    }

    /**
     * The Theil–Sen slope of bytes over steps: the median of the slopes between all pairs of
     * samples. A leak shows as steady growth and gives its rate; a one-off step (the allocator
     * taking another arena, then staying flat) moves only a minority of pairs, unlike a
     * least-squares fit.
     */
    static double slope(List<long[]> samples) {
        List<Double> slopes = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            for (int j = i + 1; j < samples.size(); j++) {
                long dx = samples.get(j)[0] - samples.get(i)[0];
                if (dx != 0) {
                    slopes.add((double) (samples.get(j)[1] - samples.get(i)[1]) / dx);
                }
            }
        }
        if (slopes.isEmpty()) {
            return 0;
        }
        java.util.Collections.sort(slopes);
        int n = slopes.size();
        return n % 2 == 1 ? slopes.get(n / 2) : (slopes.get(n / 2 - 1) + slopes.get(n / 2)) / 2;
    }

    /** VmRSS in bytes from /proc (Linux); -1 elsewhere. */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }
}
