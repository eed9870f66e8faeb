package dev.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/** The thread's dropout stream: where the engine source's seeds come from while it is keyed. */
class DropoutStreamTest {

    @AfterEach
    void clear() {
        DropoutStream.clear();
    }

    @Test
    void keyedSeedsFollowSplittableRandomAndIgnoreTheEngineSeed() {
        try (NDManager m = NDManager.newBaseManager()) {
            DropoutStream.seed(42);
            SplittableRandom expected = new SplittableRandom(42);
            assertEquals(expected.nextLong(), DropoutMasks.engine().passSeed(m));
            Engine.getInstance().setRandomSeed(1); // another thread's reseeding changes nothing
            assertEquals(expected.nextLong(), DropoutMasks.engine().passSeed(m));

            assertTrue(DropoutMasks.engine().forLayer(7) == DropoutMasks.engine());
            assertEquals(new SplittableRandom(7).nextLong(), DropoutMasks.engine().passSeed(m),
                    "forLayer re-keys the stream with the layer seed");
        }
    }

    @Test
    void keyedDropoutDrawsItsMaskFromTheStream() {
        try (NDManager m = NDManager.newBaseManager()) {
            DropoutStream.seed(3);
            float[] y = Dropout.apply(m.ones(new Shape(1000)), 0.25f).toFloatArray();
            FloatBuffer mask = FloatBuffer.allocate(1000);
            HostMaskDropout.fill(mask, 1000, 0.25f, new SplittableRandom(3).nextLong(), 1);
            assertArrayEquals(mask.array(), y);
        }
    }

    @Test
    void unkeyedSeedsComeFromTheEngineAndForLayerDoesNotKey() {
        try (NDManager m = NDManager.newBaseManager()) {
            DropoutStream.seed(5);
            DropoutStream.clear();
            assertFalse(DropoutStream.isSeeded());
            DropoutMasks.engine().forLayer(9);
            assertFalse(DropoutStream.isSeeded(), "a layer outside a trainer leaves the thread unkeyed");
            Engine.getInstance().setRandomSeed(3);
            long a = DropoutMasks.engine().passSeed(m);
            Engine.getInstance().setRandomSeed(3);
            assertEquals(a, DropoutMasks.engine().passSeed(m), "the engine seed fixes the seeds");
            Engine.getInstance().setRandomSeed(4);
            assertNotEquals(a, DropoutMasks.engine().passSeed(m));
            assertEquals("the dropout stream of thread " + Thread.currentThread().getName()
                    + " is not seeded (DropoutStream.seed)",
                    assertThrows(IllegalStateException.class, DropoutStream::next).getMessage());
        }
    }

    @Test
    void theStreamIsTheThreadsOwn() throws Exception {
        DropoutStream.seed(1);
        assertFalse(CompletableFuture.supplyAsync(DropoutStream::isSeeded).get(), "another thread is unkeyed");
        assertTrue(DropoutStream.isSeeded());
    }
}
