package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.peft.PeftModel;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PEFT's {@code set_adapter} on a merged model warns "Adapter cannot be set when the model is
 * merged. Unmerging the model first." and unmerges: the new adapter then runs alone over the
 * original base weights.
 */
class SetAdapterWhenMergedTest {

    @Test
    void setAdapterUnmergesFirst() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(4, m, 1);
            LoraConfig.Builder qv = LoraConfig.builder().setTargetModules("query", "value").optR(2)
                    .optInitLoraWeights(LoraInit.RANDOM);
            PeftModel<TinyNet> p = PeftModel.wrap(net, qv.build(), m, 3);
            // RANDOM: A and B both random, seeded per layer path; another rank gives other values
            p.addAdapter("other", qv.optR(3).build());
            NDArray x = TinyNet.input(m, 3, 4, 5);
            p.setAdapter("other");
            float[] other = TinyNet.run(p, x, false).toFloatArray();
            p.setAdapter("default");
            float[] dflt = TinyNet.run(p, x, false).toFloatArray();
            assertFalse(java.util.Arrays.equals(other, dflt), "the two adapters differ");

            p.merge();
            assertTrue(p.isMerged());
            assertArrayEquals(dflt, TinyNet.run(p, x, false).toFloatArray(), 1e-5f);
            p.setAdapter("other");
            assertEquals("other", p.activeAdapter());
            assertFalse(p.isMerged(), "unmerged before switching");
            assertTrue(LoraAdapters.loraLayers(p).values().stream().allMatch(l -> l.mergedAdapters().isEmpty()));
            assertArrayEquals(other, TinyNet.run(p, x, false).toFloatArray(), 1e-5f,
                    "the new adapter's unmerged outputs, not the merged one's");
        }
    }
}
