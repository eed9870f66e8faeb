package dev.peft4j.examples.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.task.Losses;
import dev.peft4j.core.train.BnbAdamW;
import dev.peft4j.core.train.OptimizerState;
import dev.peft4j.core.train.OptimizerType;
import dev.peft4j.core.train.ParameterOptimizer;
import dev.peft4j.lora.LoraConfig;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The cost of each optimizer: the MiniLM LoRA r=8 (query, value + classifier head) training step
 * of {@code peft4j bench} (32 x 128 unless given, dropout on) with the optimizer's update included, all
 * optimizers timed in turns in one process, as ratios to AdamW's step; and the update alone of 4 M
 * trainable values (16 matrices of 512 x 512, the scale of LoRA r=64 on a 1B model's layers).
 *
 * <pre>
 * java -cp peft-examples/target/test-classes:peft-examples/target/peft4j.jar:peft-examples/target/lib/* \
 *     dev.peft4j.examples.cli.OptimizerBench [runs [batch tokens]]     # whole steps, then updates
 * java ... dev.peft4j.examples.cli.OptimizerBench updates [runs]      # updates alone
 * </pre>
 */
public final class OptimizerBench {

    private OptimizerBench() {}

    /** Optimizers by row name. */
    static Map<String, ParameterOptimizer> optimizers() {
        Map<String, ParameterOptimizer> o = new LinkedHashMap<>();
        o.put("adamw", OptimizerType.ADAMW.create());
        o.put("adamw-8bit", OptimizerType.ADAMW_8BIT.create());
        o.put("adamw-8bit min-8bit-size 0", BnbAdamW.builder().optMin8bitSize(0).build());
        o.put("paged-adamw", OptimizerType.PAGED_ADAMW.create());
        o.put("paged-adamw-8bit min-8bit-size 0", BnbAdamW.builder().optMin8bitSize(0).optPaged(true).build());
        o.put("sgd", OptimizerType.SGD.create());
        return o;
    }

    /**
     * @param args {@code [runs [batch tokens]]} (default 5, 32 x 128 as {@code peft4j bench})
     * @throws Exception when the model cannot be loaded
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("updates")) {
            updatesOnly(args.length > 1 ? Integer.parseInt(args[1]) : 5);
            return;
        }
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int batch = args.length > 2 ? Integer.parseInt(args[1]) : 32;
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        BenchTable t = new BenchTable(runs, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            trainSteps(t, m, batch, tokens);
            updates(t, m);
        }
        t.print(new PrintWriter(System.out, true));
    }

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
            BertForSequenceClassification cls = BertForSequenceClassification.loader().setCheckpoint(w, hf)
                    .setManager(sub).optLabels(List.of("great", "other")).optPooling(Pooling.MEAN).load();
            PeftModel.wrap(cls, LoraConfig.builder().setTargetModules("query", "value").optR(8).optLoraAlpha(16)
                    .optLoraDropout(0.1).optTaskType("SEQ_CLS").optModulesToSave(List.of("classifier")).build(), sub);
            Map<String, Parameter> trainable = new LinkedHashMap<>();
            cls.namedParameters().forEach((k, p) -> {
                if (p.requiresGradient()) {
                    trainable.put(k, p);
                }
            });
            long count = trainable.values().stream().mapToLong(p -> p.getArray().size()).sum();
            Map<String, ParameterOptimizer> opts = optimizers();
            List<BenchTable.Op> ops = new ArrayList<>();
            List<OptimizerState> states = new ArrayList<>();
            for (ParameterOptimizer opt : opts.values()) {
                OptimizerState state = new OptimizerState(opt, sub);
                states.add(state);
                ops.add(() -> {
                    try (NDManager step = sub.newSubManager()) {
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray x = step.create(ids, new Shape(batch, tokens));
                            NDArray logits = cls.forward(new ParameterStore(step, false), x, step.ones(x.getShape()),
                                    null, true);
                            gc.backward(Losses.crossEntropy(logits, step.create(labels)));
                        }
                        state.beginStep();
                        for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                            NDArray p = e.getValue().getArray();
                            opt.update(e.getKey(), p, p.getGradient(), 1e-4, state);
                        }
                    }
                });
            }
            double[][] s = t.secondsInTurns(ops);
            int k = 0;
            for (String name : opts.keySet()) {
                t.values("MiniLM LoRA r=8 step " + batch + "x" + tokens + " + " + name, "ms", scaled(s[k], 1e3));
                t.values("  / adamw step (same turn)", "x", BenchTable.ratios(s[k], s[0]));
                k++;
            }
            k = 0;
            for (String name : opts.keySet()) {
                t.values("  optimizer state, " + name, "B/param",
                        new double[] {(double) states.get(k++).stateBytes() / count});
            }
            states.forEach(OptimizerState::close);
        }
    }

    /**
     * The update alone (no forward or backward), for a machine too busy for whole steps: the MiniLM
     * LoRA r=8 trainable set (24 matrices of 3,072 values + the 770-value head) and 4.2 M values.
     */
    private static void updatesOnly(int runs) throws Exception {
        BenchTable t = new BenchTable(runs, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            List<Shape> minilm = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                minilm.add(new Shape(8, 384));
                minilm.add(new Shape(384, 8));
            }
            minilm.add(new Shape(2, 384));
            minilm.add(new Shape(2));
            updates(t, m, "MiniLM LoRA r=8 set (74,498 values)", minilm);
            updates(t, m);
        }
        t.print(new PrintWriter(System.out, true));
    }

    private static void updates(BenchTable t, NDManager m) throws Exception {
        List<Shape> shapes = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            shapes.add(new Shape(512, 512));
        }
        updates(t, m, "4.2 M values", shapes);
    }

    private static void updates(BenchTable t, NDManager m, String what, List<Shape> shapes) throws Exception {
        int matrices = shapes.size();
        try (NDManager sub = m.newSubManager()) {
            List<NDArray> params = new ArrayList<>();
            List<NDArray> grads = new ArrayList<>();
            Random r = new Random(1);
            for (Shape shape : shapes) {
                float[] g = new float[(int) shape.size()];
                for (int j = 0; j < g.length; j++) {
                    g[j] = (float) r.nextGaussian();
                }
                params.add(sub.zeros(shape));
                grads.add(sub.create(g, shape));
            }
            Map<String, ParameterOptimizer> opts = optimizers();
            List<BenchTable.Op> ops = new ArrayList<>();
            for (ParameterOptimizer opt : opts.values()) {
                OptimizerState state = new OptimizerState(opt, sub);
                ops.add(() -> {
                    state.beginStep();
                    for (int i = 0; i < matrices; i++) {
                        opt.update("p" + i, params.get(i), grads.get(i), 1e-4, state);
                    }
                });
            }
            double[][] s = t.secondsInTurns(ops);
            int k = 0;
            for (String name : opts.keySet()) {
                t.values("update of " + what + ", " + name, "ms", scaled(s[k++], 1e3));
            }
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
