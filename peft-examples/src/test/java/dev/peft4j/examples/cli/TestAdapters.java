package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.nn.Params;
import dev.peft4j.lora.LoraAdapters;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraLinear;
import dev.peft4j.core.peft.PeftModel;

import java.nio.file.Path;
import java.util.Random;

/** Builds LoRA adapters for the CLI tests: PEFT-initialized, then B set to seeded nonzero values. */
final class TestAdapters {

    private TestAdapters() {}

    /**
     * Sets every adapter layer's B (zero after PEFT's default initialization) to seeded normal
     * values times {@code scale}, so that the adapter changes the outputs.
     *
     * @param peft the wrapped model
     * @param seed the seed
     * @param scale the standard deviation
     * @param manager owner of the new values
     */
    static void randomizeB(PeftModel<?> peft, long seed, float scale, NDManager manager) {
        Random random = new Random(seed);
        for (LoraLinear l : LoraAdapters.loraLayers(peft).values()) {
            NDArray b = l.loraB(PeftModel.DEFAULT_ADAPTER).parameter("weight").getArray();
            Shape shape = b.getShape();
            float[] v = new float[(int) shape.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) random.nextGaussian() * scale;
            }
            Params.assign(l.loraB(PeftModel.DEFAULT_ADAPTER).parameter("weight"), manager.create(v, shape));
        }
    }

    /** @return a q_proj/v_proj adapter config, r 4, alpha 8, trained on {@code baseName} */
    static LoraConfig qv(String baseName) {
        return LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(4).optLoraAlpha(8)
                .optBaseModelNameOrPath(baseName).build();
    }

    /**
     * @param peft a wrapped model
     * @param dir where to save it
     * @return {@code dir}
     */
    static Path save(PeftModel<?> peft, Path dir) {
        peft.save(dir);
        return dir;
    }
}
