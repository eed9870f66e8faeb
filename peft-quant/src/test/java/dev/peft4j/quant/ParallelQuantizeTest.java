package dev.peft4j.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

/** Large tensors, quantized in parallel chunks, give exactly the sequential result. */
class ParallelQuantizeTest {

    @Test
    void parallelEqualsSequentialHalves() {
        int half = BlockwiseQuantizer.PARALLEL_MIN / 2;
        int n = BlockwiseQuantizer.PARALLEL_MIN + 64 * 3 + 5;
        float[] x = new float[n];
        Random rnd = new Random(3);
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (QuantType type : QuantType.values()) {
            QuantizedTensor all = BlockwiseQuantizer.quantize(x, new long[] {n}, type, 64, false);
            QuantizedTensor a = BlockwiseQuantizer.quantize(
                    Arrays.copyOfRange(x, 0, half), new long[] {half}, type, 64, false);
            QuantizedTensor b = BlockwiseQuantizer.quantize(
                    Arrays.copyOfRange(x, half, n), new long[] {n - half}, type, 64, false);
            byte[] packed = new byte[(n + 1) / 2];
            System.arraycopy(a.packed(), 0, packed, 0, half / 2);
            System.arraycopy(b.packed(), 0, packed, half / 2, (n - half + 1) / 2);
            assertArrayEquals(packed, all.packed(), type.name());
            float[] absmax = new float[all.state().blockCount()];
            float[] aa = a.state().absmax().orElseThrow();
            float[] ba = b.state().absmax().orElseThrow();
            System.arraycopy(aa, 0, absmax, 0, aa.length);
            System.arraycopy(ba, 0, absmax, aa.length, ba.length);
            assertArrayEquals(absmax, all.state().absmax().orElseThrow(), type.name());
        }
        x[n - 10] = Float.NaN;
        x[70_000] = Float.POSITIVE_INFINITY;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BlockwiseQuantizer.quantize(x, new long[] {n}, QuantType.NF4, 64, true));
        assertEquals("input contains a non-finite value at index 70000: Infinity", e.getMessage());
    }
}
