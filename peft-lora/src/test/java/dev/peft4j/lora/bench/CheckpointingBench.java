package dev.peft4j.lora.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.checkpoint.GradientCheckpointing;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.task.Losses;
import dev.peft4j.lora.LoraConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Gradient checkpointing on a random-weight model of TinyLlama-1.1B's layer shape (hidden 2048,
 * 32 query / 4 key-value heads, intermediate 5632, vocabulary 32000; fewer layers), LoRA r=16 on
 * q_proj/v_proj with dropout 0.05, batch 1: training steps with and without checkpointing, each
 * reporting its time, the RSS before the step and the step's peak RSS ({@code VmHWM} after
 * resetting it through {@code /proc/self/clear_refs}), and the process's CPU time over the step.
 *
 * <pre>
 * java ... dev.peft4j.lora.bench.CheckpointingBench MODE LAYERS SEQ STEPS
 *   MODE: plain | ckpt (every step; peak memory) | alternate (plain, ckpt, ckpt, plain, ...; time ratios)
 *       | compare (plain, then plain, ckpt, whole, whole, ckpt, plain, ...: "whole" recomputes every layer
 *         whole, as before the output projections were skipped, forced by an identity residual hook)
 * </pre>
 */
public final class CheckpointingBench {

    private CheckpointingBench() {}

    /**
     * @param args mode, layers, sequence length, steps
     * @throws IOException when /proc cannot be read
     */
    public static void main(String[] args) throws IOException {
        String mode = args[0];
        int layers = Integer.parseInt(args[1]);
        int seq = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "llama");
        c.put("hidden_size", 2048);
        c.put("intermediate_size", 5632);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", 32);
        c.put("num_key_value_heads", 4);
        c.put("vocab_size", 32000);
        c.put("rms_norm_eps", 1e-5);
        c.put("max_position_embeddings", 2048);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = new LlamaForCausalLM(LlamaConfig.from(HfConfig.of(c, "tinyllama-shape/config.json")));
            Engine.getInstance().setRandomSeed(1);
            for (Map.Entry<String, Parameter> e : lm.namedParameters().entrySet()) {
                Parameter p = e.getValue();
                int dot = e.getKey().lastIndexOf('.');
                Shape shape = lm.getModule(e.getKey().substring(0, dot)).expectedShape(e.getKey().substring(dot + 1));
                Params.assign(p, shape.dimension() == 1 ? m.ones(shape)
                        : m.randomNormal(0f, 0.02f, shape, DataType.FLOAT32));
            }
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, LoraConfig.builder()
                    .setTargetModules("q_proj", "v_proj").optR(16).optLoraAlpha(32).optLoraDropout(0.05).build(), m, 1);
            long[] ids = new long[seq];
            Random r = new Random(0);
            for (int i = 0; i < seq; i++) {
                ids[i] = 3 + r.nextInt(31000);
            }
            System.out.printf(Locale.ROOT, "layers %d seq %d params %.3f GB rss %.3f GiB%n", layers, seq,
                    4e-9 * lm.namedParameters().values().stream().mapToLong(p -> p.getArray().size()).sum(),
                    status("VmRSS:") / 1073741824.0);
            for (int step = 0; step < steps; step++) {
                String kind = kind(mode, step);
                boolean ckpt = !kind.equals("plain");
                if (ckpt) {
                    GradientCheckpointing.enable(peft);
                } else {
                    GradientCheckpointing.disable(peft);
                }
                for (ResidualSite site : lm.hooks().residualSites()) {
                    site.setHook(kind.equals("whole") ? (ps, res, training) -> res.standard() : null);
                }
                System.gc();
                Files.writeString(Path.of("/proc/self/clear_refs"), "5");
                long before = status("VmRSS:");
                long t0 = System.nanoTime();
                long cpu0 = processCpuNanos();
                float loss;
                try (NDScope scope = new NDScope(); NDManager s = m.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    scope.suppressNotUsedWarning();
                    Engine.getInstance().setRandomSeed(7 + step);
                    NDArray x = s.create(ids, new Shape(1, seq));
                    NDArray logits = lm.forward(new ParameterStore(s, false), x, null, null, null, true).logits();
                    NDArray l = Losses.causalLm(logits, x);
                    loss = l.getFloat();
                    gc.backward(l);
                    GradientCheckpointing.backward(peft);
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                double cpuSeconds = (processCpuNanos() - cpu0) / 1e9;
                long peak = status("VmHWM:");
                double gradNorm = 0;
                for (Parameter p : peft.namedParameters().values()) {
                    if (p.requiresGradient()) {
                        NDArray g = p.getArray().getGradient();
                        gradNorm += g.square().sum().getFloat();
                        g.close();
                        JniUtils.zeroGrad((PtNDArray) p.getArray());
                    }
                }
                System.out.printf(Locale.ROOT, "step %d %s %.2f s cpu %.2f s loss %.5f gradnorm %.6f rss-before %.3f GiB peak %.3f GiB"
                                + " step-peak-over-before %.3f GiB%n", step, kind, seconds, cpuSeconds, loss,
                        Math.sqrt(gradNorm), before / 1073741824.0, peak / 1073741824.0,
                        (peak - before) / 1073741824.0);
            }
        }
    }

    /** plain, ckpt or whole (checkpointed, every layer recomputed whole) for step {@code step} of {@code mode}. */
    private static String kind(String mode, int step) {
        switch (mode) {
            case "plain":
                return "plain";
            case "ckpt":
                return "ckpt";
            case "alternate":
                return step % 4 == 1 || step % 4 == 2 ? "ckpt" : "plain";
            case "compare":
                return step == 0 ? "plain" : new String[] {"plain", "ckpt", "whole", "whole", "ckpt", "plain"}[(step - 1) % 6];
            default:
                throw new IllegalArgumentException("mode is plain, ckpt, alternate or compare, got " + mode);
        }
    }

    /** CPU time of the whole process, all threads (less sensitive than wall time to other processes' load). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long status(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) * 1024L;
            }
        }
        throw new IOException(key + " not in /proc/self/status");
    }
}
