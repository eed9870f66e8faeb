package dev.peft4j.core.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * {@link PeftModel#unload()} with {@code modules_to_save}, as PEFT 0.20 ({@code
 * ModulesToSaveWrapper.unload_and_optionally_merge_module}): the active adapter's trained copy stays
 * at the saved module's path, also when adapters are disabled; the other adapters' copies and the
 * original are dropped.
 */
class UnloadModulesToSaveTest {

    private static final int D = 4;

    @BeforeAll
    static void register() {
        PeftMethods.register(new ScaleMethod());
    }

    /** A wrapped net with adapters "a" (head weights 5) and "b" (head weights 7); "b" is active. */
    private static PeftModel<ToyNet> twoHeads(NDManager m) {
        PeftModel<ToyNet> p = PeftModel.wrap(ToyNet.create(D, m, 1),
                new ScaleConfig(List.of("query"), null, "SEQ_CLS", false), m);
        p.addAdapter("b", new ScaleConfig(List.of("query"), null, "SEQ_CLS", false));
        setHead(p, "default", 5f, m);
        setHead(p, "b", 7f, m);
        return p;
    }

    private static void setHead(PeftModel<ToyNet> p, String adapter, float value, NDManager m) {
        p.setAdapter(adapter);
        Parameter w = ((Module) p.baseModel().getModule("classifier")).parameter("weight");
        Params.assign(w, m.full(w.getArray().getShape(), value));
    }

    private static float[] headWeights(Module net) {
        return ((Module) net.getModule("classifier")).parameter("weight").getArray().toFloatArray();
    }

    private static float[] run(Module net, NDManager m) {
        NDArray x = m.arange(0f, 2f * D).reshape(2, D).div(8f);
        return net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow().toFloatArray();
    }

    private static float[] filled(float v) {
        float[] a = new float[2 * D];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void unloadKeepsTheActiveAdaptersTrainedCopy() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<ToyNet> p = twoHeads(m);
            float[] adapted = run(p, m);
            ToyNet plain = p.unload();
            assertArrayEquals(filled(7f), headWeights(plain), 0f, "b's trained head, not the original");
            assertInstanceOf(Linear.class, plain.getModule("layer.0.query"), "adapter layers taken out");
            // the scale vectors start at ones: the unloaded model computes what the adapted one did
            assertArrayEquals(adapted, run(plain, m), 0f);
            assertEquals("this PeftModel was unloaded; use the returned base model",
                    assertThrows(IllegalStateException.class, p::unload).getMessage());
        }
    }

    @Test
    void unloadWhileDisabledStillKeepsTheActiveCopy() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<ToyNet> p = twoHeads(m);
            p.setAdapter("default");
            Module copy = (Module) p.baseModel().getModule("classifier");
            PeftModel<ToyNet>.AdaptersDisabled off = p.disableAdapters();
            assertNotSame(copy, p.baseModel().getModule("classifier"), "disabled: the original runs");
            ToyNet plain = p.unload();
            assertSame(copy, plain.getModule("classifier"));
            assertArrayEquals(filled(5f), headWeights(plain), 0f);
        }
    }
}
