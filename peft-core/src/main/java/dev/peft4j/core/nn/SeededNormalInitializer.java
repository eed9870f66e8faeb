package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.initializer.Initializer;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * {@code normal(0, std)} drawn on the host from a {@link SplittableRandom} with a fixed seed, so a
 * freshly initialized parameter is the same in every process. DJL's {@code NormalInitializer} draws
 * from the engine's generator, which PyTorch seeds differently in each process unless someone set
 * it first; a fresh classifier head initialized that way made two runs with the same {@code --seed}
 * differ from their first step.
 */
public final class SeededNormalInitializer implements Initializer {

    private final double std;
    private final long seed;

    /**
     * @param std the standard deviation, non-negative
     * @param seed the generator's seed
     */
    public SeededNormalInitializer(double std, long seed) {
        if (!(std >= 0)) {
            throw new IllegalArgumentException("std must be non-negative, got " + std);
        }
        this.std = std;
        this.seed = seed;
    }

    /**
     * An initializer whose stream depends on a seed and a parameter's name, so that every parameter
     * of a model draws its own values.
     *
     * @param std the standard deviation
     * @param seed the model's seed
     * @param name the parameter's dotted path, e.g. {@code classifier.weight}
     * @return the initializer
     */
    public static SeededNormalInitializer forParameter(double std, long seed, String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        }
        return new SeededNormalInitializer(std, seed * 0x9E3779B97F4A7C15L ^ h);
    }

    @Override
    public NDArray initialize(NDManager manager, Shape shape, DataType dataType) {
        long n = shape.size();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many elements for a host-drawn initialization: " + shape);
        }
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[(int) n];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (std * random.nextGaussian());
        }
        NDArray a = manager.create(values, shape);
        if (dataType == DataType.FLOAT32) {
            return a;
        }
        NDArray cast = a.toType(dataType, false);
        a.close();
        return cast;
    }
}
