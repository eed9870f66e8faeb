package dev.peft4j.quant;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bitsandbytes' signed dynamic 8-bit map. */
class DynamicMapTest {

    @Test
    void signedMapPinnedValues() {
        float[] map = DynamicMap.signed8Bit();
        assertEquals(256, map.length);
        for (int i = 1; i < map.length; i++) {
            assertTrue(map[i - 1] < map[i], "strictly increasing at " + i);
        }
        assertEquals(-0.99296875f, map[0]);
        // Vectorized torch.linspace lanes: a naive float32 linspace gives -0.97890627 here.
        assertEquals(-0.9789062142372131f, map[1]);
        assertEquals(-0.514843761920929f, map[34]);
        assertEquals(-5.500000384017767e-07f, map[126]);
        assertEquals(0f, map[127]);
        assertEquals(5.500000384017767e-07f, map[128]);
        assertEquals(0.000493750034365803f, map[138]);
        assertEquals(1f, map[255]);
        for (int i = 0; i < 127; i++) {
            assertEquals(-map[254 - i], map[i], "symmetric at " + i);
        }
    }

    @Test
    void signedMapEqualsReferenceNestedQuantMap() throws IOException {
        Bnb4bitFixture f = Bnb4bitFixture.load("nf4_dq_64x128");
        float[] reference = f.expected().get("weight.nested_quant_map").toFloats();
        assertArrayEquals(reference, DynamicMap.signed8Bit());
    }

    @Test
    void unsignedMapHasNoNegatives() {
        float[] map = DynamicMap.create(false, 7, 8);
        assertEquals(256, map.length);
        assertEquals(0f, map[0]);
        // Twice the fraction items per exponent: the smallest is 1e-6 * mean(0.1, 0.55).
        assertEquals(3.2500003044333425e-07f, map[1]);
        assertEquals(0.9964843988418579f, map[254]);
        assertEquals(1f, map[255]);
        for (int i = 1; i < map.length; i++) {
            assertTrue(map[i - 1] < map[i], "strictly increasing at " + i);
        }
    }

    @Test
    void rejectsBadBitCounts() {
        assertThrows(IllegalArgumentException.class, () -> DynamicMap.create(true, 8, 8));
        assertThrows(IllegalArgumentException.class, () -> DynamicMap.create(true, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> DynamicMap.create(true, 3, 9));
    }
}
