package dev.peft4j.core.train;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The maps against the bit patterns of bitsandbytes' tables (spec Appendix A) and the search against a scan. */
class DynamicQuantizationMapTest {

    private static void assertBits(int bits, float value, String what) {
        assertEquals(Integer.toHexString(bits), Integer.toHexString(Float.floatToRawIntBits(value)), what);
    }

    @Test
    void signedMapHasTheLibrarysCodes() {
        float[] c = DynamicQuantizationMap.signed();
        assertEquals(256, c.length);
        assertBits(0xbf7e3333, c[0], "code[0] = -0.99296875: no -1");
        assertBits(0xbf7a999a, c[1], "code[1]");
        assertBits(0xbddb3334, c[63], "code[63]");
        assertBits(0xb513a3b7, c[126], "code[126] = -5.5e-7");
        assertBits(0x00000000, c[127], "code[127] = +0");
        assertBits(0x3513a3b7, c[128], "code[128] = 5.5e-7");
        assertBits(0x3923d70b, c[135], "code[135]");
        assertBits(0x3ddb3334, c[191], "code[191]");
        assertBits(0x3f003333, c[219], "code[219]");
        assertBits(0x3f7e3333, c[254], "code[254]");
        assertBits(0x3f800000, c[255], "code[255] = 1");
        for (int i = 0; i < 127; i++) {
            assertEquals(-c[254 - i], c[i], "symmetric but for 1.0: " + i);
        }
    }

    @Test
    void unsignedMapHasTheLibrarysCodes() {
        float[] c = DynamicQuantizationMap.unsigned();
        assertBits(0x00000000, c[0], "code[0] = 0");
        assertBits(0x34ae7baa, c[1], "code[1] = 3.25e-7");
        assertBits(0x3783126e, c[7], "code[7]");
        assertBits(0x3c2f5c2a, c[63], "code[63]");
        assertBits(0x3dd40000, c[127], "code[127]");
        assertBits(0x3e80999a, c[148], "code[148]");
        assertBits(0x3f7f199a, c[254], "code[254]");
        assertBits(0x3f800000, c[255], "code[255] = 1");
        for (int i = 1; i < 256; i++) {
            assertTrue(c[i] > c[i - 1], "ascending at " + i);
        }
    }

    @Test
    void searchFindsTheNearestCode() {
        Random r = new Random(1);
        for (boolean signed : new boolean[] {true, false}) {
            float[] c = signed ? DynamicQuantizationMap.signed() : DynamicQuantizationMap.unsigned();
            for (int n = 0; n < 20000; n++) {
                // uniform and log-uniform magnitudes, so that the tiny codes are hit too
                float mag = n % 2 == 0 ? r.nextFloat() : (float) Math.pow(10, -7 * r.nextDouble());
                float x = signed && r.nextBoolean() ? -mag : mag;
                int q = DynamicQuantizationMap.quantize(c, signed, x);
                float best = Float.MAX_VALUE;
                for (float code : c) {
                    best = Math.min(best, Math.abs(x - code));
                }
                assertEquals(best, Math.abs(x - c[q]), 0f, "x=" + x + " got code " + q);
            }
        }
    }

    @Test
    void handPickedValues() {
        float[] s = DynamicQuantizationMap.signed();
        float[] u = DynamicQuantizationMap.unsigned();
        assertEquals(219, DynamicQuantizationMap.quantize(s, true, 0.5f), "0.5: 0.50078 beats 0.48672");
        assertEquals(0, DynamicQuantizationMap.quantize(s, true, -1f), "-1 -> -0.99297");
        assertEquals(255, DynamicQuantizationMap.quantize(s, true, 1f));
        assertEquals(127, DynamicQuantizationMap.quantize(s, true, 0f));
        assertEquals(127, DynamicQuantizationMap.quantize(s, true, -1e-7f), "nearer to 0 than to -5.5e-7");
        assertEquals(201, DynamicQuantizationMap.quantize(s, true, 0.25f), "0.24766 beats 0.26172");
        assertEquals(148, DynamicQuantizationMap.quantize(u, false, 0.25f), "0.25117 beats 0.24414");
        assertEquals(100, DynamicQuantizationMap.quantize(u, false, 0.0625f), "0.06273 beats 0.06133");
        assertEquals(0, DynamicQuantizationMap.quantize(u, false, 0f));
        assertEquals(255, DynamicQuantizationMap.quantize(u, false, 1f));
    }
}
