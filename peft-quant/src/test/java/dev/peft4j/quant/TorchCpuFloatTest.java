package dev.peft4j.quant;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The float32 emulation of PyTorch's CPU sum, mean and linspace. */
class TorchCpuFloatTest {

    @Test
    void sumFollowsTorchCascadeNotSequentialOrder() {
        // Fewer than 8 values: ((((x0 + x4) + x1) + x2) + x3); sequential order would give 8.
        assertEquals(11f, TorchCpuFloat.sum(new float[] {1e8f, 3f, -1e8f, 3f, 5f}));
        assertEquals(2.2f, TorchCpuFloat.mean(new float[] {1e8f, 3f, -1e8f, 3f, 5f}));
        // 20 values: two 8-lane vectors, a scalar tail, then the lanes; sequential gives 1e8.
        float[] y = new float[20];
        for (int i = 0; i < y.length; i++) {
            y[i] = (i + 1) * 0.1f;
        }
        y[0] = 1e8f;
        assertEquals(100000008f, TorchCpuFloat.sum(y));
    }

    @Test
    void meanEqualsLibtorchMean() {
        // Below PyTorch's grain size (32768) its sum is single-threaded and deterministic. The
        // test JVM runs with ATEN_CPU_CAPABILITY=avx2 (8 lanes), the reference's configuration.
        Random rnd = new Random(42);
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int n = 1; n < 5000; n += n < 300 ? 1 : 97) {
                float[] x = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = (float) Math.abs(rnd.nextGaussian()) * (1 + rnd.nextInt(100));
                }
                float torch;
                try (NDManager sub = manager.newSubManager()) {
                    torch = sub.create(x).mean().getFloat();
                }
                assertEquals(
                        Float.floatToIntBits(torch),
                        Float.floatToIntBits(TorchCpuFloat.mean(x)),
                        "n=" + n);
            }
        }
    }

    @Test
    void linspaceScalarElementsAreFused() {
        // 9 steps: no vector chunk; start + step * i and end - step * (steps - 1 - i), fused.
        float[] v = TorchCpuFloat.linspace(0.1f, 1f, 9);
        assertEquals(0.1f, v[0]);
        assertEquals(0.4375f, v[3]);
        assertEquals(0.6625000238418579f, v[5]);
        assertEquals(1f, v[8]);
    }

    @Test
    void linspaceVectorLanesAreBasePlusLaneTimesStep() {
        // 17 steps: one chunk of two 8-lane vectors (lane k = base + k * step, unfused) and a
        // scalar tail. Current libtorch (2.7.1) computes lane 3 as 0.26875; the bitsandbytes
        // reference's torch, and so its dynamic map, has 0.26874998.
        float[] v = TorchCpuFloat.linspace(0.1f, 1f, 17);
        assertEquals(0.26874998211860657f, v[3]);
        assertEquals(0.3812499940395355f, v[5]);
        assertEquals(1f, v[16]);
        float[] w = TorchCpuFloat.linspace(0.1f, 1f, 65);
        assertEquals(0.17031249403953552f, w[5]);
        assertEquals(0.550000011920929f, w[32]);
        assertEquals(0.7328125238418579f, w[45]);
        assertEquals(1f, w[64]);
        assertThrows(IllegalArgumentException.class, () -> TorchCpuFloat.linspace(0f, 1f, 1));
    }
}
