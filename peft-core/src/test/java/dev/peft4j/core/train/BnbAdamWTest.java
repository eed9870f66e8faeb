package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.DType;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BnbAdamW's steps against hand calculation and an independent scalar reference. */
class BnbAdamWTest {


    static void step(ParameterOptimizer opt, OptimizerState state, NDArray p, float[] g, double lr) {
        state.beginStep();
        try (NDArray grad = p.getManager().create(g)) {
            opt.update("w", p, grad, lr, state);
        }
    }

    static int[] codes(OptimizerState state, String slot, int n) {
        ByteBuffer b = state.hostSlot("w", slot, DType.U8, new long[] {n});
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = b.get(i) & 0xff;
        }
        return out;
    }

    static float[] floats(OptimizerState state, String slot, int n) {
        FloatBuffer b = state.hostSlot("w", slot, DType.F32, new long[] {n}).asFloatBuffer();
        float[] out = new float[n];
        b.get(0, out);
        return out;
    }

    @Test
    void firstEightBitStepByHand() {
        // g = [0.5, -1, 0.25, 0]: m = 0.1 g, absmax1 = 0.1, m/absmax1 = [0.5, -1, 0.25, 0]
        // -> signed codes 219 (0.50078), 0 (-0.99297), 201 (0.24766), 127 (0);
        // v = 0.001 g², absmax2 = 0.001, v/absmax2 = [0.25, 1, 0.0625, 0]
        // -> unsigned codes 148 (0.25117), 255 (1), 100 (0.06273), 0.
        // Step 1: m/c1 = g and sqrt(v)/c2 = |g|, so p moves by -lr * g/(|g| + eps): -lr*sign(g), 0 for g = 0.
        BnbAdamW opt = BnbAdamW.builder().optMin8bitSize(1).optWeightDecay(0).build();
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState(opt, m)) {
            NDArray p = m.create(new float[] {1f, 2f, 3f, 4f});
            step(opt, state, p, new float[] {0.5f, -1f, 0.25f, 0f}, 0.01);
            assertArrayEquals(new int[] {219, 0, 201, 127}, codes(state, BnbAdamW.STATE1, 4));
            assertArrayEquals(new int[] {148, 255, 100, 0}, codes(state, BnbAdamW.STATE2, 4));
            assertArrayEquals(new float[] {0.1f}, floats(state, BnbAdamW.ABSMAX1, 1), 1e-7f);
            // in float32, as the kernel, 1 - 0.999f = 9.9998713e-4
            assertArrayEquals(new float[] {0.001f}, floats(state, BnbAdamW.ABSMAX2, 1), 2e-8f);
            assertArrayEquals(new float[] {0.99f, 2.01f, 2.99f, 4f}, p.toFloatArray(), 1e-6f);

            // Step 2 with g = [0.5, -1, 0.25, 0] again, from the dequantized states:
            // m = code1*0.1*0.9 + 0.1 g = [0.0950703, -0.1893672, 0.0472891, 0]
            // v = code2*0.001*0.999 + 0.001 g² = [0.000500918, 0.001999, 0.0001251, 0]
            // c1 = 0.19, c2 = sqrt(0.001999); p -= 0.01 * (m/c1) / (sqrt(v)/c2 + 1e-8)
            step(opt, state, p, new float[] {0.5f, -1f, 0.25f, 0f}, 0.01);
            double c1 = 1 - 0.9 * 0.9;
            double c2 = Math.sqrt(1 - 0.999 * 0.999);
            double[] mm = {0.50078124 * 0.1 * 0.9 + 0.05, -0.99296874 * 0.1 * 0.9 - 0.1,
                0.24765624 * 0.1 * 0.9 + 0.025, 0};
            double[] vv = {0.25117189 * 0.001 * 0.999 + 0.00025, 0.001 * 0.999 + 0.001,
                0.06273438 * 0.001 * 0.999 + 0.0000625, 0};
            float[] want = new float[4];
            double[] p1 = {0.99, 2.01, 2.99, 4};
            for (int i = 0; i < 4; i++) {
                want[i] = (float) (p1[i] - 0.01 * (mm[i] / c1) / (Math.sqrt(vv[i]) / c2 + 1e-8));
            }
            assertArrayEquals(want, p.toFloatArray(), 2e-6f);
            // new absmax1 = 0.1893672 (the -1 element), m/absmax = [0.50204, -1, 0.24972, 0]
            assertArrayEquals(new float[] {0.18936719f}, floats(state, BnbAdamW.ABSMAX1, 1), 1e-7f);
            assertArrayEquals(new int[] {219, 0, 201, 127}, codes(state, BnbAdamW.STATE1, 4));
        }
    }

    @Test
    void negativeMomentumRoundedToZeroKeepsItsSign() {
        // m/absmax = -1e-7 is nearer code 127 (+0) than 126 (-5.5e-7): the sign fix moves it to 126.
        BnbAdamW opt = BnbAdamW.builder().optMin8bitSize(1).build();
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState(opt, m)) {
            NDArray p = m.zeros(new ai.djl.ndarray.types.Shape(3));
            step(opt, state, p, new float[] {1f, -1e-7f, 1e-7f}, 0.01);
            assertArrayEquals(new int[] {255, 126, 127}, codes(state, BnbAdamW.STATE1, 3));
        }
    }

    @Test
    void nonFiniteGradientsResetEightBitStatesAndLeaveTheParameter() {
        BnbAdamW opt = BnbAdamW.builder().optMin8bitSize(1).build();
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState(opt, m)) {
            NDArray p = m.create(new float[] {1f, 2f, 3f});
            step(opt, state, p, new float[] {0.5f, -0.5f, 1f}, 0.01);
            float[] before = p.toFloatArray();
            step(opt, state, p, new float[] {Float.NaN, Float.NEGATIVE_INFINITY, 1f}, 0.01);
            float[] after = p.toFloatArray();
            assertEquals(before[0], after[0], 0f, "NaN gradient: parameter untouched (no decay either)");
            assertEquals(before[1], after[1], 0f, "-inf gradient: parameter untouched");
            assertTrue(after[2] < before[2]);
            assertArrayEquals(new int[] {127, 127, 255}, codes(state, BnbAdamW.STATE1, 3), "m reset to 0");
            assertArrayEquals(new int[] {0, 0, 255}, codes(state, BnbAdamW.STATE2, 3), "v reset to 0");
        }
    }

    @Test
    void smallTensorsKeepFloat32StatesAndSkipNonFiniteElements() {
        BnbAdamW opt = BnbAdamW.builder().build();
        assertTrue(!opt.quantizes(4095) && opt.quantizes(4096), "min_8bit_size 4096");
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState(opt, m)) {
            NDArray p = m.create(new float[] {1f, 2f});
            step(opt, state, p, new float[] {0.5f, -1f}, 0.01);
            assertArrayEquals(new float[] {0.05f, -0.1f}, floats(state, BnbAdamW.STATE1, 2), 1e-7f);
            assertArrayEquals(new float[] {0.00025f, 0.001f}, floats(state, BnbAdamW.STATE2, 2), 2e-8f);
            step(opt, state, p, new float[] {Float.NaN, -1f}, 0.01);
            assertArrayEquals(new float[] {0.05f, -0.19f}, floats(state, BnbAdamW.STATE1, 2), 1e-7f,
                    "the NaN element's state is kept (32-bit kernel), the other updated");
        }
    }

    @Test
    void weightDecayIsAppliedAfterTheAdamStep() {
        // p = 1, g = 1, lr = 0.1, wd = 0.1: Adam step -> 1 - 0.1 = 0.9, then * (1 - 0.01) = 0.891
        // (torch.optim.AdamW decays first: 0.99 - 0.1 = 0.89)
        for (int bits : new int[] {8, 32}) {
            BnbAdamW opt = BnbAdamW.builder().optBits(bits).optMin8bitSize(1).optWeightDecay(0.1).build();
            try (NDManager m = NDManager.newBaseManager();
                    OptimizerState state = new OptimizerState(opt, m)) {
                NDArray p = m.create(new float[] {1f});
                step(opt, state, p, new float[] {1f}, 0.1);
                assertEquals(0.891f, p.toFloatArray()[0], 1e-6f, bits + "-bit");
            }
        }
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState("adamw", m)) {
            NDArray p = m.create(new float[] {1f});
            step(AdamW.builder().optWeightDecay(0.1).build(), state, p, new float[] {1f}, 0.1);
            assertEquals(0.89f, p.toFloatArray()[0], 1e-6f);
        }
    }

    @Test
    void matchesAnIndependentScalarReference() {
        // 1,000 elements: three full blocks and a partial one; five steps, a NaN at step 3
        int n = 1000;
        BnbAdamW opt = BnbAdamW.builder().optMin8bitSize(1).optBetas(0.8, 0.99).optWeightDecay(0.05).build();
        Reference ref = new Reference(n, 0.8f, 0.99f, 1e-8f, 0.05f);
        Random r = new Random(3);
        float[] p0 = new float[n];
        for (int i = 0; i < n; i++) {
            p0[i] = (float) r.nextGaussian();
        }
        float[] pr = p0.clone();
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState(opt, m)) {
            NDArray p = m.create(p0);
            for (int t = 1; t <= 5; t++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) {
                    g[i] = (float) (r.nextGaussian() * (i < 256 ? 1e-3 : 1));
                }
                if (t == 3) {
                    g[300] = Float.NaN;
                }
                double lr = 0.01 * t;
                step(opt, state, p, g, lr);
                ref.step(pr, g, t, (float) lr);
                assertArrayEquals(ref.q1, codes(state, BnbAdamW.STATE1, n), "state1 after step " + t);
                assertArrayEquals(ref.q2, codes(state, BnbAdamW.STATE2, n), "state2 after step " + t);
                assertArrayEquals(ref.absmax1, floats(state, BnbAdamW.ABSMAX1, 4), 0f);
                assertArrayEquals(ref.absmax2, floats(state, BnbAdamW.ABSMAX2, 4), 0f);
                assertArrayEquals(pr, p.toFloatArray(), 1e-6f, "parameter after step " + t);
            }
        }
    }

    /** A plain re-statement of the 8-bit blockwise step: linear-scan nearest code, then the sign fix. */
    private static final class Reference {
        final int[] q1;
        final int[] q2;
        final float[] absmax1;
        final float[] absmax2;
        final float b1;
        final float b2;
        final float eps;
        final float wd;

        Reference(int n, float b1, float b2, float eps, float wd) {
            q1 = new int[n];
            java.util.Arrays.fill(q1, 127);
            q2 = new int[n];
            int blocks = (n + 255) / 256;
            absmax1 = new float[blocks];
            absmax2 = new float[blocks];
            this.b1 = b1;
            this.b2 = b2;
            this.eps = eps;
            this.wd = wd;
        }

        static int nearest(float[] code, float x) {
            int best = 0;
            for (int i = 1; i < code.length; i++) {
                if (Math.abs(x - code[i]) < Math.abs(x - code[best])) {
                    best = i;
                }
            }
            return best;
        }

        void step(float[] p, float[] g, int t, float lr) {
            float[] s = DynamicQuantizationMap.signed();
            float[] u = DynamicQuantizationMap.unsigned();
            float c1 = 1f - (float) Math.pow(b1, t);
            float c2 = (float) Math.sqrt(1f - (float) Math.pow(b2, t));
            for (int blk = 0; blk < absmax1.length; blk++) {
                int from = blk * 256;
                int to = Math.min(p.length, from + 256);
                float[] m = new float[to - from];
                float[] v = new float[to - from];
                float mx1 = 0;
                float mx2 = 0;
                for (int j = from; j < to; j++) {
                    if (Float.isFinite(g[j])) {
                        m[j - from] = s[q1[j]] * absmax1[blk] * b1 + (1f - b1) * g[j];
                        v[j - from] = u[q2[j]] * absmax2[blk] * b2 + (1f - b2) * (g[j] * g[j]);
                    }
                    mx1 = Math.max(mx1, Math.abs(m[j - from]));
                    mx2 = Math.max(mx2, v[j - from]);
                }
                absmax1[blk] = mx1;
                absmax2[blk] = mx2;
                for (int j = from; j < to; j++) {
                    float mj = m[j - from];
                    float vj = v[j - from];
                    if (Float.isFinite(g[j])) {
                        float stepSize = -lr * c2 / c1;
                        p[j] = (p[j] + stepSize * (mj / ((float) Math.sqrt(vj) + c2 * eps))) * (1f - lr * wd);
                    }
                    int q = nearest(s, mj / mx1);
                    if ((s[q] < 0 || Float.floatToRawIntBits(s[q]) < 0) != (Float.floatToRawIntBits(mj) < 0)) {
                        q += mj > 0 ? 1 : -1;
                    }
                    q1[j] = q;
                    q2[j] = nearest(u, vj / mx2);
                }
            }
        }
    }

    @Test
    void eightBitTracksFloat32AdamOnAQuadratic() {
        // f(x) = 1/2 sum a_i (x_i - b_i)^2 over 8,192 elements (32 blocks), 300 steps of lr 0.01
        int n = 8192;
        Random r = new Random(5);
        float[] a = new float[n];
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = 0.5f + 1.5f * r.nextFloat();
            b[i] = 2 * r.nextFloat() - 1;
        }
        float[] x8 = minimize(BnbAdamW.builder().optWeightDecay(0).build(), a, b, 300);
        float[] x32 = minimize(BnbAdamW.builder().optBits(32).optWeightDecay(0).build(), a, b, 300);
        double f8 = loss(x8, a, b);
        double f32 = loss(x32, a, b);
        double f0 = loss(new float[n], a, b);
        double maxDiff = 0;
        for (int i = 0; i < n; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(x8[i] - x32[i]));
        }
        // measured: f0 1698.4, f32 2.85e-6, f8 2.41e-5, max |x8 - x32| 0.0010
        assertTrue(f32 < 1e-8 * f0, "32-bit converges: " + f32 + " from " + f0);
        assertTrue(f8 < 1e-7 * f0, "8-bit converges: " + f8 + " from " + f0);
        assertTrue(maxDiff < 0.003, "8-bit iterates stay within 0.003 of 32-bit's: " + maxDiff);
    }

    private static float[] minimize(BnbAdamW opt, float[] a, float[] b, int steps) {
        int n = a.length;
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState(opt, m)) {
            NDArray x = m.zeros(new ai.djl.ndarray.types.Shape(n));
            for (int t = 0; t < steps; t++) {
                float[] xv = x.toFloatArray();
                float[] g = new float[n];
                for (int i = 0; i < n; i++) {
                    g[i] = a[i] * (xv[i] - b[i]);
                }
                step(opt, state, x, g, 0.01);
            }
            return x.toFloatArray();
        }
    }

    private static double loss(float[] x, float[] a, float[] b) {
        double f = 0;
        for (int i = 0; i < x.length; i++) {
            f += 0.5 * a[i] * (x[i] - b[i]) * (x[i] - b[i]);
        }
        return f;
    }

    @Test
    void javadocExample() {
        // ---- BnbAdamW javadoc
        ParameterOptimizer adam8 = BnbAdamW.builder().build();                  // AdamW8bit
        ParameterOptimizer paged = BnbAdamW.builder().optPaged(true).build();   // PagedAdamW8bit
        ParameterOptimizer paged32 = BnbAdamW.builder().optBits(32).optPaged(true).build(); // PagedAdamW
        // ----
        assertEquals(StateStorage.Kind.HEAP, adam8.stateStorage().kind());
        assertEquals(StateStorage.Kind.OFF_HEAP, paged.stateStorage().kind());
        assertEquals("paged-adamw", paged32.name());
    }

    @Test
    void builderRejectsBadSettings() {
        assertEquals("bits must be 8 or 32, got 16",
                assertThrows(IllegalArgumentException.class, () -> BnbAdamW.builder().optBits(16).build())
                        .getMessage());
        assertEquals("min8bitSize must not be negative, got -1",
                assertThrows(IllegalArgumentException.class, () -> BnbAdamW.builder().optMin8bitSize(-1).build())
                        .getMessage());
        assertEquals("adamw-8bit", BnbAdamW.builder().build().name());
        assertEquals("paged-adamw-8bit", BnbAdamW.builder().optPaged(true).build().name());
        assertEquals("paged-adamw", BnbAdamW.builder().optBits(32).optPaged(true).build().name());
        assertEquals("adamw-32bit", BnbAdamW.builder().optBits(32).build().name());
    }
}
