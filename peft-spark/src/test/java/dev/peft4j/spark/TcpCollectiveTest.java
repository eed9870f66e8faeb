package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/** {@link TcpCollective} between threads of this JVM over localhost, rendezvous in process. */
class TcpCollectiveTest {

    private static final String HOST = "127.0.0.1";
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** Runs {@code body} on every rank of a connected group of {@code n}; results by rank. */
    private <T> List<Future<T>> onEveryRank(int n, Duration timeout, Function<TcpCollective, T> body) {
        List<Collective> rendezvous = InProcessCollective.group(n, 20_000);
        List<Future<T>> out = new ArrayList<>();
        for (Collective r : rendezvous) {
            out.add(pool.submit((Callable<T>) () -> {
                try (TcpCollective c = TcpCollective.connect(r, HOST, timeout, () -> { })) {
                    return body.apply(c);
                }
            }));
        }
        return out;
    }

    private static Throwable failure(Future<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get());
        return e.getCause();
    }

    @Test
    void threeRanksSumInRankOrderBitIdenticalToAScalarReference() throws Exception {
        int n = 3;
        int size = 100_003; // several TCP segments per message
        float[][] vectors = new float[n][size];
        Random random = new Random(7);
        for (float[] v : vectors) {
            for (int i = 0; i < size; i++) {
                v[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(8) - 4));
            }
        }
        // element 0: ((1e8 + -1e8) + 1) = 1, any other order gives 0 or 2^-n noise
        vectors[0][0] = 1e8f;
        vectors[1][0] = -1e8f;
        vectors[2][0] = 1f;
        float[] reference = new float[size];
        for (int i = 0; i < size; i++) {
            float s = vectors[0][i];
            for (int r = 1; r < n; r++) {
                s += vectors[r][i];
            }
            reference[i] = s;
        }
        List<Future<float[]>> sums = onEveryRank(n, TIMEOUT, c -> {
            assertEquals(n, c.worldSize());
            float[] first = c.allReduceSum(vectors[c.rank()]);
            assertEquals(List.of("r0", "r1", "r2"), c.allGather("r" + c.rank()));
            assertArrayEquals(new long[] {10, 11, 12}, c.allGatherLong(10L + c.rank()));
            c.barrier();
            float[] again = c.allReduceSum(vectors[c.rank()]);
            assertArrayEquals(first, again);
            return first;
        });
        for (Future<float[]> f : sums) {
            float[] got = f.get();
            assertEquals(1f, got[0]);
            for (int i = 0; i < size; i++) {
                assertEquals(Float.floatToRawIntBits(reference[i]), Float.floatToRawIntBits(got[i]), "element " + i);
            }
        }
    }

    @Test
    void aRankThatStopsFailsTheOthersAtOnceNotAfterTheTimeout() {
        long t0 = System.nanoTime();
        List<Future<float[]>> out = onEveryRank(3, Duration.ofSeconds(60), c -> {
            c.allReduceSum(new float[] {c.rank()});
            if (c.rank() == 2) {
                throw new IllegalStateException("injected failure on rank 2");
            }
            return c.allReduceSum(new float[] {c.rank()});
        });
        assertEquals("injected failure on rank 2", failure(out.get(2)).getMessage());
        for (int r = 0; r < 2; r++) {
            String m = failure(out.get(r)).getMessage();
            assertTrue(m.startsWith("rank " + r + ": "), m);
            assertTrue(m.contains("closed the connection") || m.contains("failed or stopped"), m);
        }
        assertTrue((System.nanoTime() - t0) / 1e9 < 30, "failed fast, not after the 60 s timeout");
    }

    @Test
    void aRankThatAbortsTellsItsPeerWhyAndAnAbortAfterCloseIsANoOp() {
        List<Future<float[]>> out = onEveryRank(2, Duration.ofSeconds(60), c -> {
            c.allReduceSum(new float[] {c.rank()});
            if (c.rank() == 1) {
                c.abort(new IllegalStateException("injected failure on rank 1"));
                assertTrue(c.isClosed());
                c.abort(new IllegalStateException("again")); // closed: nothing sent, no error
                return null;
            }
            return c.allReduceSum(new float[] {c.rank()});
        });
        assertEquals("rank 0: rank 1 failed (java.lang.IllegalStateException: injected failure on rank 1); the"
                + " collective cannot continue", failure(out.get(0)).getMessage());
    }

    @Test
    void aRankThatFallsSilentFailsTheOthersAfterTheTimeout() {
        List<Future<float[]>> out = onEveryRank(2, Duration.ofMillis(600), c -> {
            if (c.rank() == 1) {
                try {
                    Thread.sleep(3000); // alive, connected, but never calls
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }
            return c.allReduceSum(new float[] {1f});
        });
        assertEquals("rank 0: rank 1 sent nothing for 600 ms (the transport timeout): it hangs, is unreachable,"
                + " or is slower than the timeout allows", failure(out.get(0)).getMessage());
    }

    @Test
    void ranksOutOfStepOrWithOtherLengthsFailWithAMessageSayingSo() {
        List<Future<Object>> out = onEveryRank(2, TIMEOUT, c -> c.rank() == 0
                ? c.allReduceSum(new float[] {1f, 2f}) : c.allGather("x"));
        assertEquals("rank 0: rank 1 is out of step: expected call 1 (all-reduce of 2 values), got call 1"
                + " (all-gather); every rank must make the same collective calls in the same order",
                failure(out.get(0)).getMessage());

        List<Future<float[]>> lengths = onEveryRank(2, TIMEOUT, c -> c.allReduceSum(new float[c.rank() + 1]));
        // whichever rank reads the other's header first names the mismatch; the other may first see it hang up
        List<String> messages = List.of(failure(lengths.get(0)).getMessage(), failure(lengths.get(1)).getMessage());
        assertTrue(messages.contains("all-reduce: rank 1 sent 2 values, rank 0 sent 1")
                || messages.contains("all-reduce: rank 0 sent 1 values, rank 1 sent 2"), messages.toString());
    }

    /** A rendezvous whose other rank is at {@code address}, which never connects. */
    private static Collective fakeRendezvous(int rank, String otherAddress) {
        return new Collective() {
            @Override
            public int rank() {
                return rank;
            }

            @Override
            public int worldSize() {
                return 2;
            }

            @Override
            public List<String> allGather(String message) {
                return rank == 0 ? List.of(message, otherAddress) : List.of(otherAddress, message);
            }

            @Override
            public void barrier() {}
        };
    }

    @Test
    void aPeerThatNeverConnectsOrCannotBeReachedFailsWithinTheTimeout() throws Exception {
        IllegalStateException never = assertThrows(IllegalStateException.class, () -> TcpCollective.connect(
                fakeRendezvous(0, "1@127.0.0.1:1"), HOST, Duration.ofMillis(500), () -> { }));
        assertTrue(never.getMessage().matches("rank 0: ranks \\[1\\] did not connect within 500 ms to 127\\.0\\.0\\.1:"
                + "\\d+; a firewall must allow TCP between the executors on ephemeral ports, or use Transport.BARRIER"),
                never.getMessage());

        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> TcpCollective.connect(
                fakeRendezvous(1, "1@127.0.0.1:" + closedPort), HOST, Duration.ofMillis(500), () -> { }));
        assertTrue(refused.getMessage().startsWith("rank 1: cannot connect to rank 0 at 127.0.0.1:" + closedPort),
                refused.getMessage());
    }

    @Test
    void aCancelledTaskStopsWaiting() {
        List<Collective> rendezvous = InProcessCollective.group(2, 20_000);
        List<Future<float[]>> out = new ArrayList<>();
        for (Collective r : rendezvous) {
            out.add(pool.submit(() -> {
                long t0 = System.nanoTime();
                Runnable cancel = () -> {
                    if (r.rank() == 0 && System.nanoTime() - t0 > 500_000_000L) {
                        throw new IllegalStateException("task killed");
                    }
                };
                try (TcpCollective c = TcpCollective.connect(r, HOST, Duration.ofSeconds(60), cancel)) {
                    if (c.rank() == 1) {
                        Thread.sleep(2000);
                        return null;
                    }
                    return c.allReduceSum(new float[] {1f});
                }
            }));
        }
        assertEquals("task killed", failure(out.get(0)).getMessage());
    }

    /** {@code inner} with every all-gather message recorded into {@code into}. */
    private static Collective recording(Collective inner, List<String> into) {
        return new Collective() {
            @Override
            public int rank() {
                return inner.rank();
            }

            @Override
            public int worldSize() {
                return inner.worldSize();
            }

            @Override
            public List<String> allGather(String message) {
                into.add(message);
                return inner.allGather(message);
            }

            @Override
            public void barrier() {
                inner.barrier();
            }
        };
    }

    @Test
    void theListeningPortIsClosedOnceThePeersAreConnected() throws Exception {
        List<String> addresses = new CopyOnWriteArrayList<>();
        List<Future<TcpCollective>> connected = new ArrayList<>();
        for (Collective r : InProcessCollective.group(2, 20_000)) {
            Collective rendezvous = recording(r, addresses);
            connected.add(pool.submit(() -> TcpCollective.connect(rendezvous, HOST, TIMEOUT, () -> { })));
        }
        try (TcpCollective a = connected.get(0).get(); TcpCollective b = connected.get(1).get()) {
            assertEquals(2, addresses.size());
            for (String address : addresses) {
                int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
                assertThrows(java.net.ConnectException.class, () -> new Socket(HOST, port).close(),
                        "port " + port + " still listening");
            }
            Future<float[]> sumA = pool.submit(() -> a.allReduceSum(new float[] {1f}));
            assertArrayEquals(new float[] {3f}, b.allReduceSum(new float[] {2f}));
            assertArrayEquals(new float[] {3f}, sumA.get());
        }
    }

    @Test
    void closedCollectivesRefuseCallsAndAOneRankGroupNeedsNoPeers() {
        TcpCollective c = TcpCollective.connect(InProcessCollective.group(1, 1000).get(0), HOST, TIMEOUT, () -> { });
        assertArrayEquals(new float[] {1f, 2f}, c.allReduceSum(new float[] {1f, 2f}));
        c.close();
        c.close();
        assertTrue(c.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.allGather("x"));
        assertEquals("rank 0: the TCP collective is closed", e.getMessage());
    }
}
