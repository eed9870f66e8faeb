package dev.peft4j.core.model.hooks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** PEFT's flat prefix layout and the virtual-token batch helpers. */
class PrefixKeyValuesTest {

    @Test
    void peftLayoutIndexIsLayerKvHeadDim() {
        // flat index of one virtual token's vector: ((layer*2 + kv)*H + head)*headDim + d
        int layers = 2;
        int heads = 2;
        int headDim = 3;
        int n = 2;
        int width = layers * 2 * heads * headDim;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray flat = m.arange(0f, 2f * n * width, 1f, DataType.FLOAT32).reshape(2, n, width);
            PrefixKeyValues kv = PrefixKeyValues.fromPeftLayout(flat, layers, heads, headDim);
            assertEquals(2, kv.numLayers());
            assertEquals(n, kv.length());
            assertEquals(new Shape(2, heads, n, headDim), kv.shape());
            float[] flatValues = flat.toFloatArray();
            for (int l = 0; l < layers; l++) {
                for (int which = 0; which < 2; which++) {
                    float[] got = (which == 0 ? kv.key(l) : kv.value(l)).toFloatArray();
                    int i = 0;
                    for (int b = 0; b < 2; b++) {
                        for (int h = 0; h < heads; h++) {
                            for (int t = 0; t < n; t++) {
                                for (int d = 0; d < headDim; d++) {
                                    int index = ((l * 2 + which) * heads + h) * headDim + d;
                                    assertEquals(flatValues[(b * n + t) * width + index], got[i++],
                                            "layer " + l + " kv " + which + " b " + b + " h " + h + " t " + t + " d " + d);
                                }
                            }
                        }
                    }
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PrefixKeyValues.fromPeftLayout(flat, 3, heads, headDim));
            assertEquals("PEFT prefix must be [batch, n, 36] for 3 layers x 2 x 2 heads x 3, got (2, 2, 24)",
                    e.getMessage());
            IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class,
                    () -> new PrefixKeyValues(List.of(kv.key(0), kv.key(1)), List.of(kv.value(0), kv.value(1).get(":, :1"))));
            assertEquals("layer 1: prefix key (2, 2, 2, 3) and value (2, 1, 2, 3) must both be (2, 2, 2, 3)",
                    mismatch.getMessage());
        }
    }

    @Test
    void masksAndLabelsAsPeftExtendsThem() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray mask = m.create(new long[][] {{1, 1, 0}, {1, 0, 0}});
            assertArrayEquals(new long[] {1, 1, 1, 1, 0, 1, 1, 1, 0, 0},
                    VirtualTokens.extendMask(mask, 2).toLongArray());
            assertEquals(null, VirtualTokens.extendMask(null, 2));
            NDArray labels = m.create(new long[][] {{5, 6, -100}});
            assertArrayEquals(new long[] {-100, -100, 5, 6, -100}, VirtualTokens.padLabels(labels, 2).toLongArray());
            NDArray x = m.arange(0f, 10f, 1f, DataType.FLOAT32).reshape(1, 5, 2);
            assertArrayEquals(new float[] {4, 5, 6, 7, 8, 9}, VirtualTokens.dropVirtual(x, 2).toFloatArray());
            assertEquals(new PrefixShape(2, 2, 8, 32).tokenDim(), 16);
        }
    }
}
