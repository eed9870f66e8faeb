package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Host-buffer optimizer state: memory per parameter, paged storage, checkpoint round trip. */
class OptimizerStateHostTest {

    private static float[] grad(Random r, int n) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) r.nextGaussian();
        }
        return g;
    }

    /** Bytes of optimizer state per element of one parameter of n elements after one step. */
    private static double bytesPerParameter(ParameterOptimizer opt, int n) {
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState(opt, m)) {
            NDArray p = m.zeros(new Shape(n));
            BnbAdamWTest.step(opt, state, p, grad(new Random(1), n), 0.01);
            return (double) state.stateBytes() / n;
        }
    }

    @Test
    void eightBitStatesTakeAboutTwoBytesPerParameter() {
        int n = 256 * 256;
        // 2 codes of 1 byte + 2 float maxima per 256-element block: 2 + 8/256 = 2.03125
        assertEquals(2.03125, bytesPerParameter(BnbAdamW.builder().build(), n), 0);
        assertEquals(8, bytesPerParameter(BnbAdamW.builder().optBits(32).build(), n), 0);
        assertEquals(8, bytesPerParameter(AdamW.builder().build(), n), 0);
        assertEquals(8, bytesPerParameter(BnbAdamW.builder().build(), 4095), 0, "below 4,096 elements: float32");
        assertEquals(2 + 8.0 / 4096 * 16, bytesPerParameter(BnbAdamW.builder().build(), 4096), 1e-12,
                "4,096 elements: 16 blocks");
    }

    @Test
    void pagedStatesLiveOffHeapOrInUnlinkedMappedFiles(@TempDir Path dir) throws Exception {
        int n = 5000;
        float[] heap = run(BnbAdamW.builder().build(), n, null);
        BnbAdamW offHeap = BnbAdamW.builder().optPaged(true).build();
        assertEquals(StateStorage.Kind.OFF_HEAP, offHeap.stateStorage().kind());
        BnbAdamW mapped = BnbAdamW.builder().optPagingDirectory(dir.resolve("paging")).build();
        assertEquals("paged-adamw-8bit", mapped.name());
        assertArrayEquals(heap, run(offHeap, n, buf -> assertTrue(buf.isDirect())), 0f);
        assertArrayEquals(heap, run(mapped, n, buf -> assertTrue(buf instanceof MappedByteBuffer)), 0f);
        try (Stream<Path> files = Files.list(dir.resolve("paging"))) {
            assertEquals(0, files.count(), "backing files are unlinked once mapped");
        }
    }

    /** Three steps on n elements; returns the parameter, checking the state's first buffer. */
    private static float[] run(BnbAdamW opt, int n, java.util.function.Consumer<java.nio.ByteBuffer> check) {
        Random r = new Random(2);
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState(opt, m)) {
            NDArray p = m.zeros(new Shape(n));
            for (int t = 0; t < 3; t++) {
                BnbAdamWTest.step(opt, state, p, grad(r, n), 0.01);
            }
            if (check != null) {
                check.accept(state.hostSlot("w", BnbAdamW.STATE1, DType.U8, new long[] {n}));
            }
            return p.toFloatArray();
        }
    }

    @Test
    void savedStatesReloadAndContinueBitIdentically(@TempDir Path dir) throws Exception {
        int n = 5000;
        for (BnbAdamW opt : new BnbAdamW[] {BnbAdamW.builder().build(),
            BnbAdamW.builder().optPagingDirectory(dir.resolve("pages")).build(),
            BnbAdamW.builder().optBits(32).optPaged(true).build()}) {
            Random r = new Random(4);
            float[][] grads = {grad(r, n), grad(r, n), grad(r, n), grad(r, n)};
            Path file = dir.resolve(opt.name() + ".safetensors");
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray straight = m.zeros(new Shape(n));
                try (OptimizerState state = new OptimizerState(opt, m)) {
                    for (float[] g : grads) {
                        BnbAdamWTest.step(opt, state, straight, g, 0.01);
                    }
                }
                NDArray resumed = m.zeros(new Shape(n));
                try (OptimizerState state = new OptimizerState(opt, m)) {
                    BnbAdamWTest.step(opt, state, resumed, grads[0], 0.01);
                    BnbAdamWTest.step(opt, state, resumed, grads[1], 0.01);
                    state.save(file);
                }
                try (OptimizerState state = new OptimizerState(opt, m)) {
                    state.load(file);
                    assertEquals(2, state.step());
                    BnbAdamWTest.step(opt, state, resumed, grads[2], 0.01);
                    BnbAdamWTest.step(opt, state, resumed, grads[3], 0.01);
                }
                assertArrayEquals(straight.toFloatArray(), resumed.toFloatArray(), 0f, opt.name());
            }
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                DType want = opt.bits() == 8 ? DType.U8 : DType.F32;
                assertEquals(want, f.info("w." + BnbAdamW.STATE1).dtype(), "saved as they are");
                assertEquals(want, f.info("w." + BnbAdamW.STATE2).dtype());
                assertEquals("host", f.metadata().get(OptimizerState.META_STORAGE));
                if (opt.bits() == 8) {
                    assertArrayEquals(new long[] {20}, f.info("w." + BnbAdamW.ABSMAX1).shape());
                    assertEquals(DType.F32, f.info("w." + BnbAdamW.ABSMAX2).dtype());
                }
            }
        }
    }

    @Test
    void aStateOfAnotherShapeIsRefusedByName(@TempDir Path dir) throws Exception {
        BnbAdamW opt = BnbAdamW.builder().build();
        Path file = dir.resolve("o.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            try (OptimizerState state = new OptimizerState(opt, m)) {
                BnbAdamWTest.step(opt, state, m.zeros(new Shape(5000)), grad(new Random(1), 5000), 0.01);
                state.save(file);
            }
            try (OptimizerState state = new OptimizerState(opt, m)) {
                state.load(file);
                IllegalStateException e = assertThrows(IllegalStateException.class, () ->
                        BnbAdamWTest.step(opt, state, m.zeros(new Shape(6000)), grad(new Random(1), 6000), 0.01));
                assertEquals("optimizer state 'w.state1' is U8 [5000] but U8 [6000] is needed: the checkpoint"
                        + " belongs to another model or optimizer setting", e.getMessage());
            }
            try (OptimizerState state = new OptimizerState("adamw", m)) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> state.load(file));
                assertTrue(e.getMessage().endsWith("was written by 'adamw-8bit', this run uses 'adamw'"),
                        e.getMessage());
            }
        }
        assertFalse(Files.exists(dir.resolve("pages")));
    }
}
