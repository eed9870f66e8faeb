package dev.peft4j.examples.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.nn.WeightLoader;
import dev.peft4j.core.task.Losses;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.quant.BlockwiseDequantizer;
import dev.peft4j.quant.BlockwiseQuantizer;
import dev.peft4j.quant.NDArrayDequantizer;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.QuantizedTensor;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code peft4j bench}: a one-screen performance summary, each row the median (min, max) of
 * {@code --runs} timed runs after warm-up: F32 GEMM through DJL, MiniLM load and forward, NF4
 * quantize/dequantize against a plain copy, LoRA linear forward+backward (r = 8, 16, 64; 384→1536 and
 * 4096→4096) against the plain frozen linear, and
 * LoRA merge. {@code --quick} uses tiny sizes (a smoke test, not a measurement).
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Print a one-screen benchmark summary: median, min and max of several runs.",
            "GEMM, builtin:all-minilm-l6-v2 load and forward, NF4 codec vs copy, LoRA overhead and merge."
        })
final class BenchCommand extends CliCommand {

    @Option(names = "--quick", description = "Tiny sizes and 2 runs: checks that everything runs, in seconds.")
    boolean quick;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "5",
            description = "Timed runs per row (default 5; at least 5 unless --quick).")
    int runs;

    @Override
    int run() throws Exception {
        if (!quick && runs < 5) {
            throw new IllegalArgumentException("--runs must be at least 5, got " + runs);
        }
        int n = quick ? 2 : runs;
        BenchTable table = new BenchTable(n, quick ? 1 : 2);
        PrintWriter out = out();
        out.printf(Locale.ROOT, "peft4j bench%s: %s, %d CPUs, load average %.2f, Java %s, %s %s, %d runs%n",
                quick ? " --quick" : "", Instant.now().truncatedTo(ChronoUnit.SECONDS),
                Runtime.getRuntime().availableProcessors(),
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                System.getProperty("java.version"), Engine.getInstance().getEngineName(),
                Engine.getInstance().getVersion(), n);
        out.flush();
        try (NDManager m = NDManager.newBaseManager()) {
            gemm(table, m, quick ? new int[] {64, 128} : new int[] {1024, 2048, 4096});
            BertModel bert = minilm(table, m);
            forward(table, bert, m, quick ? 2 : 32, quick ? 16 : 128);
            codec(table, m, quick ? 256 : 4096);
            if (quick) {
                lora(table, m, 32, 64, 16, new int[] {2, 4});
            } else {
                lora(table, m, 384, 1536, 32 * 128, new int[] {8, 16, 64});
                lora(table, m, 4096, 4096, 512, new int[] {8, 16, 64});
            }
            merge(table, bert, m);
            trainSteps(table, m, quick ? 2 : 32, quick ? 16 : 128);
        }
        table.print(out);
        return 0;
    }

    private static void gemm(BenchTable t, NDManager m, int[] sizes) throws Exception {
        for (int s : sizes) {
            try (NDManager sub = m.newSubManager()) {
                NDArray a = sub.randomUniform(-1, 1, new Shape(s, s));
                NDArray b = sub.randomUniform(-1, 1, new Shape(s, s));
                t.throughput("GEMM F32 " + s + "x" + s, "GFLOP/s", 2.0 * s * s * s / 1e9, () -> {
                    try (NDArray c = a.matMul(b)) {
                        c.getShape();
                    }
                });
            }
        }
    }

    private static BertModel minilm(BenchTable t, NDManager m) throws Exception {
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        t.millis("MiniLM load (builtin, ONNX weights)", () -> {
            try (NDManager sub = m.newSubManager(); TensorSource w = builtin.openWeights()) {
                BertModel.load(w, HfConfig.of(builtin.config(), builtin.id()), sub);
            }
        });
        try (TensorSource w = builtin.openWeights()) {
            return BertModel.load(w, HfConfig.of(builtin.config(), builtin.id()), m);
        }
    }

    private static void forward(BenchTable t, BertModel bert, NDManager m, int batch, int tokens) throws Exception {
        long[] ids = new long[batch * tokens];
        Random r = new Random(0);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1000 + r.nextInt(20000);
        }
        t.millis("MiniLM forward " + batch + "x" + tokens, () -> {
            try (NDManager sub = m.newSubManager()) {
                NDArray x = sub.create(ids, new Shape(batch, tokens));
                bert.forward(new ParameterStore(sub, false), x, sub.ones(x.getShape()), null, false)
                        .lastHiddenState().getShape();
            }
        });
    }

    private static void codec(BenchTable t, NDManager m, int n) throws Exception {
        float[] x = new float[n * n];
        Random r = new Random(42);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 0.02);
        }
        double gb = 4.0 * x.length / 1e9;
        float[] copy = new float[x.length];
        BlockwiseQuantizer nf4 = BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).optDoubleQuant(true).build();
        QuantizedTensor q = nf4.quantize(x, n, n);
        String size = " " + n + "x" + n;
        t.throughput("F32 copy (System.arraycopy)" + size, "GB/s", gb, () -> System.arraycopy(x, 0, copy, 0, x.length));
        t.throughput("NF4+DQ quantize (Java)" + size, "GB/s", gb, () -> nf4.quantize(x, n, n));
        t.throughput("NF4+DQ dequantize (Java)" + size, "GB/s", gb, () -> BlockwiseDequantizer.dequantize(q));
        t.throughput("NF4+DQ dequantize (NDArray)" + size, "GB/s", gb, () -> {
            try (NDManager sub = m.newSubManager()) {
                NDArrayDequantizer.dequantize(q, sub);
            }
        });
    }

    /** One in→out linear layer named {@code proj}, the target of the LoRA benchmark. */
    static final class OneLinear extends Module {
        OneLinear(int in, int out) {
            registerModule("proj", new Linear(in, out, false));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training,
                PairList<String, Object> params) {
            return new NDList(((LinearLike) child("proj")).forward(ps, in.singletonOrThrow(), training));
        }
    }

    /**
     * LoRA linear forward+backward against the plain frozen linear of the same shape, as inside a
     * network being adapted: the base weight takes no gradient, the input does (it flows on to
     * earlier layers). The frozen layer and every rank run in turns and each ratio is taken within
     * a turn ({@link BenchTable#secondsInTurns}): timed one after the other on this shared machine,
     * the ratios mostly measured its drifting speed.
     */
    private static void lora(BenchTable t, NDManager m, int in, int out, int rows, int[] ranks)
            throws Exception {
        String what = " " + rows + "x" + in + " -> " + out;
        try (NDManager sub = m.newSubManager()) {
            NDArray x = sub.randomNormal(new Shape(rows, in));
            x.setRequiresGradient(true);
            OneLinear frozen = linear(in, out, sub);
            frozen.freeze(p -> true);
            List<BenchTable.Op> ops = new ArrayList<>();
            ops.add(() -> fwdBwd(frozen, x, sub));
            for (int r : ranks) {
                PeftModel<?> peft = PeftModel.wrap(linear(in, out, sub), LoraConfig.builder()
                        .setTargetModules("proj").optR(r).optLoraAlpha(2 * r).build(), sub);
                ops.add(() -> fwdBwd(peft, x, sub));
            }
            double[][] s = t.secondsInTurns(ops);
            t.values("frozen linear fwd+bwd" + what, "ms", scaled(s[0], 1e3));
            for (int k = 0; k < ranks.length; k++) {
                t.values("LoRA r=" + ranks[k] + " fwd+bwd" + what, "ms", scaled(s[k + 1], 1e3));
                t.values("LoRA r=" + ranks[k] + " / frozen (same turn)", "x", BenchTable.ratios(s[k + 1], s[0]));
            }
        }
    }

    private static OneLinear linear(int in, int out, NDManager m) {
        OneLinear l = new OneLinear(in, out);
        Params.assign(l.namedParameters().get("proj.weight"), m.randomNormal(new Shape(out, in)).mul(0.02));
        return l;
    }

    /**
     * One forward+backward whose intermediates all die with the run: {@code x} is attached to the
     * run's manager for its duration (results live in their input's manager; without this every
     * run's activations piled up in {@code x}'s manager, and the growing heap, not LoRA, made the
     * later rows several times slower).
     */
    private static void fwdBwd(Module model, NDArray x, NDManager m) {
        try (NDManager s = m.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            x.tempAttach(s);
            NDArray y = model.forward(new ParameterStore(s, false), new NDList(x), true).singletonOrThrow();
            gc.backward(y.sum());
        }
    }

    private static void merge(BenchTable t, BertModel bert, NDManager m) throws Exception {
        PeftModel<?> peft = PeftModel.wrap(bert, LoraConfig.builder().setTargetModules("query", "value").optR(8)
                .optLoraAlpha(16).build(), m);
        double[] s = t.seconds(() -> {
            peft.merge();
            peft.unmerge();
        });
        t.values("LoRA merge+unmerge (MiniLM q,v r=8)", "ms", scaled(s, 1e3));
        double[] once = t.seconds(() -> { });
        long t0 = System.nanoTime();
        peft.mergeAndUnload();
        once[0] = (System.nanoTime() - t0) / 1e6;
        t.values("LoRA merge-and-unload (MiniLM q,v r=8, once)", "ms", new double[] {once[0]});
    }

    /**
     * One MiniLM training step as the demo trains, LoRA over the F32 encoder and QLoRA over its NF4
     * quantization (quantized while loading), timed in turns so that both see the same machine:
     * r=8 on query,value, trained classifier head, mean pooling, dropout on; forward,
     * cross-entropy and backward (the optimizer's update of the ~150k adapter values is negligible
     * and left out). The fraction of the GEMM peak counts 3× the forward's matmul FLOPs (forward +
     * two backward matmuls each).
     */
    private static void trainSteps(BenchTable t, NDManager m, int batch, int tokens) throws Exception {
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        HfConfig hf = HfConfig.of(builtin.config(), builtin.id());
        try (NDManager sub = m.newSubManager(); TensorSource w = builtin.openWeights()) {
            long[] ids = new long[batch * tokens];
            long[] labels = new long[batch];
            Random r = new Random(0);
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1000 + r.nextInt(20000);
            }
            for (int i = 0; i < batch; i++) {
                labels[i] = r.nextInt(2);
            }
            List<String> names = List.of("LoRA", "QLoRA NF4");
            List<BenchTable.Op> ops = new ArrayList<>();
            for (String name : names) {
                WeightLoader weights = name.equals("LoRA") ? WeightLoader.FULL_PRECISION
                        : QuantizedLoader.quantizing(QuantizationConfig.builder().setQuantType(QuantType.NF4).build());
                BertForSequenceClassification cls = BertForSequenceClassification.loader().setCheckpoint(w, hf)
                        .setManager(sub).optLabels(List.of("great", "other")).optPooling(Pooling.MEAN)
                        .optWeightLoader(weights).load();
                PeftModel.wrap(cls, LoraConfig.builder().setTargetModules("query", "value").optR(8)
                        .optLoraAlpha(16).optLoraDropout(0.1).optTaskType("SEQ_CLS").build(), sub);
                ops.add(() -> {
                    try (NDManager step = sub.newSubManager();
                            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray x = step.create(ids, new Shape(batch, tokens));
                        NDArray logits = cls.forward(new ParameterStore(step, false), x, step.ones(x.getShape()), null,
                                true);
                        gc.backward(Losses.crossEntropy(logits, step.create(labels)));
                    }
                });
            }
            double[][] s = t.secondsInTurns(ops);
            BertConfig c = BertConfig.from(hf);
            double h = c.hiddenSize();
            double bt = (double) batch * tokens;
            double flops = c.numHiddenLayers() * (4 * 2 * bt * h * h + 2 * 2 * bt * h * c.intermediateSize()
                    + 2 * 2 * batch * (double) tokens * tokens * h);
            double peak = t.bestMedian("GFLOP/s");
            for (int k = 0; k < names.size(); k++) {
                String what = names.get(k) + " r=8 train step " + batch + "x" + tokens;
                double median = BenchTable.median(s[k]);
                t.values(what, "ms", scaled(s[k], 1e3));
                t.values(what + " examples/s", "ex/s", new double[] {batch / median});
                t.values(what + " tokens/s", "tok/s", new double[] {(double) batch * tokens / median});
                t.values(what + " of GEMM peak", "%", new double[] {100 * 3 * flops / median / 1e9 / peak});
            }
            t.values("QLoRA / LoRA train step (same turn)", "x", BenchTable.ratios(s[1], s[0]));
        }
    }

    private static double[] scaled(double[] v, double f) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] * f;
        }
        return out;
    }
}
