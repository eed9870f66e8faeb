package dev.peft4j.examples.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.nn.Dropout;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.task.Losses;
import dev.peft4j.lora.LoraConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Where the time of {@code peft4j bench}'s MiniLM LoRA r=8 training step (32 × 128) goes: the same
 * model and step, timed in turns against the inference forward and against parts of the step, and
 * optionally traced with PyTorch's profiler (a Chrome trace, summarized by {@code
 * scripts/step-profile-summary.py}).
 *
 * <pre>
 * java -Xmx2g -cp ... dev.peft4j.examples.bench.StepProfile [turns N] [warmups N] [only bench] [trace FILE]
 *     [batch B] [tokens T]
 * </pre>
 */
public final class StepProfile {

    private StepProfile() {}

    /**
     * @param args {@code turns N}, {@code warmups N}, {@code only bench} (time the bench rows, the peer's step
     *     and the step's dropouts alone),
     *     {@code trace FILE}, {@code batch B}, {@code tokens T}
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int turns = 5;
        int warmups = 2;
        boolean benchRowsOnly = false;
        String trace = null;
        int batch = 32;
        int tokens = 128;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "turns" -> turns = Integer.parseInt(args[i + 1]);
                case "trace" -> trace = args[i + 1];
                case "warmups" -> warmups = Integer.parseInt(args[i + 1]);
                case "only" -> benchRowsOnly = args[i + 1].equals("bench");
                case "batch" -> batch = Integer.parseInt(args[i + 1]);
                case "tokens" -> tokens = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        HfConfig hf = HfConfig.of(builtin.config(), builtin.id());
        try (NDManager m = NDManager.newBaseManager(); TensorSource w = builtin.openWeights()) {
            BertForSequenceClassification cls = BertForSequenceClassification.loader().setCheckpoint(w, hf)
                    .setManager(m).optLabels(List.of("great", "other")).optPooling(Pooling.MEAN).load();
            PeftModel.wrap(cls, LoraConfig.builder().setTargetModules("query", "value").optR(8)
                    .optLoraAlpha(16).optLoraDropout(0.1).optTaskType("SEQ_CLS").build(), m);
            int frozenWithGrad = 0;
            int trainable = 0;
            for (Map.Entry<String, Parameter> e : cls.namedParameters().entrySet()) {
                boolean grad = JniUtils.requiresGrad((PtNDArray) e.getValue().getArray());
                if (e.getValue().requiresGradient()) {
                    trainable++;
                } else if (grad) {
                    frozenWithGrad++;
                    System.out.println("frozen but requires_grad: " + e.getKey());
                }
            }
            System.out.printf(Locale.ROOT, "%d trainable parameters, %d frozen ones whose arrays require grad%n",
                    trainable, frozenWithGrad);
            long[] ids = new long[batch * tokens];
            long[] labels = new long[batch];
            Random r = new Random(0);
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1000 + r.nextInt(20000);
            }
            for (int i = 0; i < batch; i++) {
                labels[i] = r.nextInt(2);
            }
            Shape shape = new Shape(batch, tokens);
            Map<String, Runnable> variants = new java.util.LinkedHashMap<>();
            variants.put("forward (inference, bench row)", () -> {
                try (NDManager s = m.newSubManager()) {
                    NDArray x = s.create(ids, shape);
                    cls.forward(new ParameterStore(s, false), x, s.ones(shape), null, false).toFloatArray();
                }
            });
            variants.put("forward, recorded, dropout on", () -> {
                try (NDManager s = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray x = s.create(ids, shape);
                    Losses.crossEntropy(cls.forward(new ParameterStore(s, false), x, s.ones(shape), null, true),
                            s.create(labels)).toFloatArray();
                }
            });
            variants.put("forward, recorded, no dropout", () -> {
                try (NDManager s = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray x = s.create(ids, shape);
                    Losses.crossEntropy(cls.forward(new ParameterStore(s, false), x, s.ones(shape), null, false),
                            s.create(labels)).toFloatArray();
                }
            });
            variants.put("step, no dropout", () -> step(cls, m, ids, labels, shape, false));
            variants.put("step (bench row)", () -> step(cls, m, ids, labels, shape, true));
            // The Python peer's step: LoRA dropout only (it leaves out BERT's hidden, attention and
            // classifier dropout, which transformers' BertModel applies in training).
            DropoutMasks none = (x, rate) -> x;
            variants.put("step, LoRA dropout only (as peer)", () -> {
                cls.setDropoutMasks(none);
                try {
                    step(cls, m, ids, labels, shape, true);
                } finally {
                    cls.setDropoutMasks(DropoutMasks.engine());
                }
            });
            // The step's 32 dropouts alone (embeddings; per layer the attention probabilities, two hidden
            // states and the two LoRA inputs; the classifier), the old way (torch.dropout) and this one.
            List<Shape> dropoutShapes = new ArrayList<>();
            dropoutShapes.add(new Shape(batch, tokens, 384));
            for (int layer = 0; layer < 6; layer++) {
                dropoutShapes.add(new Shape(batch, 12, tokens, tokens));
                for (int k = 0; k < 4; k++) {
                    dropoutShapes.add(new Shape(batch, tokens, 384));
                }
            }
            dropoutShapes.add(new Shape(batch, 384));
            variants.put("step's dropouts, torch.dropout", () -> dropouts(m, dropoutShapes, true));
            variants.put("step's dropouts, Dropout.apply", () -> dropouts(m, dropoutShapes, false));
            if (benchRowsOnly) {
                variants.keySet().removeIf(k -> !k.contains("bench row") && !k.contains("peer")
                        && !k.contains("dropouts"));
            }
            List<String> names = new ArrayList<>(variants.keySet());
            for (int warm = 0; warm < warmups; warm++) {
                variants.values().forEach(Runnable::run);
            }
            double[][] ms = new double[names.size()][turns];
            for (int t = 0; t < turns; t++) {
                for (int k = 0; k < names.size(); k++) {
                    long t0 = System.nanoTime();
                    variants.get(names.get(k)).run();
                    ms[k][t] = (System.nanoTime() - t0) / 1e6;
                    System.out.printf(Locale.ROOT, "turn %d: %s %.0f ms%n", t + 1, names.get(k), ms[k][t]);
                }
            }
            System.out.printf(Locale.ROOT, "%-34s %9s %9s %9s  %s%n", "variant", "median ms", "min", "max",
                    "median of per-turn ratio to the forward");
            for (int k = 0; k < names.size(); k++) {
                double[] ratio = new double[turns];
                for (int t = 0; t < turns; t++) {
                    ratio[t] = ms[k][t] / ms[0][t];
                }
                System.out.printf(Locale.ROOT, "%-34s %9.0f %9.0f %9.0f  %.2f%n", names.get(k), median(ms[k]),
                        Arrays.stream(ms[k]).min().orElseThrow(), Arrays.stream(ms[k]).max().orElseThrow(),
                        median(ratio));
            }
            if (trace != null) {
                JniUtils.startProfile(false, true, false);
                step(cls, m, ids, labels, shape, true);
                JniUtils.stopProfile(trace);
                System.out.println("trace of one step written to " + trace);
            }
        }
    }

    private static void step(BertForSequenceClassification cls, NDManager m, long[] ids, long[] labels, Shape shape,
            boolean training) {
        try (NDManager s = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray x = s.create(ids, shape);
            NDArray loss = Losses.crossEntropy(cls.forward(new ParameterStore(s, false), x, s.ones(shape), null,
                    training), s.create(labels));
            gc.backward(loss);
        }
    }

    private static void dropouts(NDManager m, List<Shape> shapes, boolean torch) {
        try (NDManager s = m.newSubManager()) {
            for (Shape shape : shapes) {
                NDArray x = s.ones(shape);
                NDArray y = torch ? ai.djl.nn.norm.Dropout.dropout(x, 0.1f, true).head() : Dropout.apply(x, 0.1f);
                y.getShape();
            }
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
