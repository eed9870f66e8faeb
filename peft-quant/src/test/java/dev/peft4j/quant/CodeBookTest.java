package dev.peft4j.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** The table lookup finds the same code as the binary search for every kind of value. */
class CodeBookTest {

    private static void check(CodeBook book, String what) {
        List<Float> probes = new ArrayList<>(List.of(-1f, 1f, 0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE));
        float[] codes = book.values();
        for (float c : codes) {
            for (float d : codes) {
                float mid = (c + d) / 2f;
                for (float v : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid), c}) {
                    if (v >= -1f && v <= 1f) {
                        probes.add(v);
                    }
                }
            }
        }
        Random rnd = new Random(5);
        for (int i = 0; i < 50_000; i++) {
            probes.add(rnd.nextFloat() * 2f - 1f);
            probes.add((float) (rnd.nextGaussian() * 1e-3));
            // random bit patterns in [-1, 1]
            float v = Float.intBitsToFloat(rnd.nextInt(0x3F800001)) * (rnd.nextBoolean() ? 1 : -1);
            probes.add(v);
        }
        for (float v : probes) {
            assertEquals(book.index(v), book.indexUnit(v), what + " at " + v + " (bits "
                    + Integer.toHexString(Float.floatToRawIntBits(v)) + ")");
        }
    }

    @Test
    void tableLookupEqualsBinarySearch() {
        for (QuantType t : QuantType.values()) {
            check(t.codeBook(), t.name());
            assertEquals(t.codeBook().index16(0.3f), t.codeBook().indexUnit(0.3f));
        }
        check(new CodeBook(DynamicMap.signed8Bit()), "dynamic 8-bit");
    }

    @Test
    void sortableKeyKeepsOrder() {
        float[] v = {-1f, -0.5f, -Float.MIN_VALUE, -0f, 0f, Float.MIN_VALUE, 0.25f, 1f};
        for (int i = 1; i < v.length; i++) {
            assertEquals(true, CodeBook.sortableKey(v[i - 1]) < CodeBook.sortableKey(v[i]), "at " + i);
        }
    }
}
