package dev.peft4j.core.testing;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.checkpoint.GradientCheckpointing;
import dev.peft4j.core.checkpoint.LayerStack;
import dev.peft4j.core.nn.Module;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One training step's gradients of a model's trainable parameters, with or without gradient
 * checkpointing, for the tests pinning that checkpointing changes no gradient.
 */
public final class CheckpointedGradients {

    private CheckpointedGradients() {}

    /** The loss of one training pass. */
    @FunctionalInterface
    public interface Loss {
        /**
         * @param ps the parameter store
         * @param m the step's manager
         * @return a scalar loss of a training pass
         */
        NDArray compute(ParameterStore ps, NDManager m);
    }

    /**
     * Seeds the engine, runs the loss, its backward pass and the checkpoint recomputations, and
     * returns every trainable parameter's gradient (then zeroes them). With checkpointing it
     * checks that the pass was really checkpointed and that nothing is left pending.
     *
     * @param model the model
     * @param loss the training pass
     * @param checkpointing whether the model's layer stacks are checkpointed
     * @param seed the engine seed set before the pass
     * @return parameter path → gradient
     */
    public static Map<String, float[]> of(Module model, Loss loss, boolean checkpointing, int seed) {
        if (checkpointing) {
            GradientCheckpointing.enable(model);
        } else {
            GradientCheckpointing.disable(model);
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                Engine.getInstance().setRandomSeed(seed);
                NDArray l = loss.compute(new ParameterStore(m, false), m);
                gc.backward(l);
                int pending = GradientCheckpointing.stacks(model).stream().mapToInt(LayerStack::pendingPasses).sum();
                assertEquals(checkpointing ? 1 : 0, pending, "checkpointed passes");
                GradientCheckpointing.backward(model);
                assertEquals(0, GradientCheckpointing.stacks(model).stream().mapToInt(LayerStack::pendingPasses)
                        .sum());
            }
            for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
                NDArray p = e.getValue().getArray();
                if (e.getValue().requiresGradient()) {
                    out.put(e.getKey(), p.getGradient().toFloatArray());
                    JniUtils.zeroGrad((PtNDArray) p);
                }
            }
        } finally {
            GradientCheckpointing.disable(model);
        }
        assertFalse(out.isEmpty(), "the model has trainable parameters");
        return out;
    }

    /**
     * Runs one checkpointed training step, calling {@code beforeRecomputation} between the loss's
     * backward pass and the layers' recomputation, then zeroes every gradient.
     *
     * @param model the model
     * @param loss the training pass
     * @param beforeRecomputation e.g. resetting call counters
     */
    public static void checkpointedStep(Module model, Loss loss, Runnable beforeRecomputation) {
        GradientCheckpointing.enable(model);
        try (NDManager m = NDManager.newBaseManager()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(loss.compute(new ParameterStore(m, false), m));
                beforeRecomputation.run();
                GradientCheckpointing.backward(model);
            }
            for (Parameter p : model.namedParameters().values()) {
                if (p.requiresGradient()) {
                    JniUtils.zeroGrad((PtNDArray) p.getArray());
                }
            }
        } finally {
            GradientCheckpointing.disable(model);
        }
    }

    /**
     * The largest difference over all gradients, relative to the largest gradient magnitude.
     *
     * @param a gradients
     * @param b gradients of the same parameters
     * @return {@code max |a - b| / max |a|}
     */
    public static double relativeDiff(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        double diff = 0;
        double scale = 0;
        for (String k : a.keySet()) {
            float[] x = a.get(k);
            float[] y = b.get(k);
            for (int i = 0; i < x.length; i++) {
                diff = Math.max(diff, Math.abs(x[i] - y[i]));
                scale = Math.max(scale, Math.abs(x[i]));
            }
        }
        assertTrue(scale > 0, "the gradients are not all zero");
        return diff / scale;
    }

    /**
     * @param grads gradients
     * @param path a parameter path
     * @return the sum of the parameter's absolute gradient
     */
    public static double absSum(Map<String, float[]> grads, String path) {
        double s = 0;
        for (float v : grads.get(path)) {
            s += Math.abs(v);
        }
        return s;
    }
}
