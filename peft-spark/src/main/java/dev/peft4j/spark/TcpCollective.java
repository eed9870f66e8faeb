package dev.peft4j.spark;

import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.util.TaskCompletionListener;
import org.apache.spark.util.TaskFailureListener;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link Collective} over direct TCP connections between the ranks (transport v2): one
 * all-gather of {@code host:port} through a rendezvous collective (the barrier task's {@code
 * allGather}), then every call goes over sockets, one per pair of ranks.
 *
 * <p><b>Algorithm: gather to all.</b> Each rank sends its whole vector to every other rank (in
 * parallel, one sender thread per peer) and reads the others' in rank order, summing
 * {@code ((v_0 + v_1) + v_2) + …} in float32 as they arrive: exactly the order of {@link
 * Collective#sumInRankOrder}, so every rank gets bit-identical results and the same sum as {@link
 * BarrierCollective}. A ring reduce-scatter would move less ({@code 2·(N−1)/N·4P} bytes per rank
 * instead of {@code (N−1)·4P}) but sums each chunk starting at a different rank, so its result
 * differs in the last bits from the rank-order sum and from one chunk to the next; a ring
 * all-gather of whole vectors moves as much as this and waits {@code N−1} hops instead of one.
 * Against the driver relay of {@link BarrierCollective} ({@code N} uploads of {@code 4P·4/3}
 * Base64 bytes to the driver, {@code N²} downloads from it, and a poll of up to a second per
 * call) each rank here sends and receives {@code (N−1)·4P} binary bytes directly and nothing goes
 * through the driver: the same order of magnitude per rank for {@code N ≤ 8}, without the single
 * bottleneck and without the second of latency.
 *
 * <p><b>Wire format:</b> binary float32, length-prefixed, with the call's sequence number checked
 * on receipt ({@link TcpLink}); a rank that is out of step fails with a message saying so.
 *
 * <p><b>Failures:</b> a peer that dies or fails closes its sockets (its task does, or its
 * operating system), and every rank reading from it fails at once; a peer that hangs or never
 * connects fails the waiting rank after {@code timeout} without progress. After a failure this
 * rank closes all its connections, so its peers fail at once too. A task that fails outside a
 * collective call (its training threw) first sends its error to every peer ({@link #abort}), so
 * whichever task's failure Spark reports, the job's error names the cause. A Spark task that is killed
 * stops waiting within {@value TcpLink#SLICE_MILLIS} ms.
 *
 * <p><b>Network:</b> every rank listens on an ephemeral port (port 0, chosen by the operating
 * system) of its executor's advertised host ({@code SparkEnv}'s block manager host: {@code
 * spark.driver.host} / {@code SPARK_LOCAL_IP} / {@code SPARK_LOCAL_HOSTNAME}), only until the
 * higher ranks have connected; a firewall must allow TCP connections between the executors on
 * ephemeral ports ({@code net.ipv4.ip_local_port_range}, typically 32768–60999), as Spark's own
 * block transfers between executors do when their ports are not pinned. Where that is not
 * possible use {@link Transport#BARRIER}.
 */
public final class TcpCollective implements Collective {

    /** How long {@link #abort} waits for its messages to go out before closing. */
    static final long ABORT_SEND_MILLIS = 1000;

    private final int rank;
    private final int worldSize;
    private final TcpLink[] links;
    private final ExecutorService senders;
    private final long timeoutMillis;
    private final Runnable cancelCheck;
    private long sequence;
    private volatile boolean closed;
    /** The last call's sends: an abort goes out only when none is still writing. */
    private volatile List<Future<?>> inFlight = List.of();
    /** Reused between all-reduces of one length (the sends finish before a call returns). */
    private byte[] sendBuffer = new byte[0];
    private byte[] receiveBuffer = new byte[0];
    private float[] received = new float[0];

    private TcpCollective(int rank, int worldSize, TcpLink[] links, long timeoutMillis, Runnable cancelCheck) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.links = links;
        this.timeoutMillis = timeoutMillis;
        this.cancelCheck = cancelCheck;
        this.senders = worldSize == 1 ? null : Executors.newFixedThreadPool(worldSize - 1, r -> {
            Thread t = new Thread(r, "peft4j-tcp-send-rank" + rank);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Connects the tasks of the running barrier stage: rendezvous through {@link
     * BarrierTaskContext#allGather}, listening on the executor's advertised host. The connections
     * are closed when the task completes or fails (a task completion listener), or by {@link
     * #close()}.
     *
     * @param timeout how long a rank waits without progress for a peer (to connect, or to send
     *     its part of a call); it must exceed the longest time one rank may be ahead of another
     *     (e.g. a slower model load before the first call)
     * @return the connected collective of this task
     * @throws IllegalStateException when not called inside a barrier task, or a peer does not
     *     connect within the timeout
     */
    public static TcpCollective current(Duration timeout) {
        BarrierCollective rendezvous = BarrierCollective.current();
        BarrierTaskContext context = BarrierTaskContext.get();
        TcpCollective c = connect(rendezvous, advertisedHost(), timeout, context::killTaskIfInterrupted);
        context.addTaskFailureListener((TaskFailureListener) (ctx, error) -> c.abort(error));
        context.addTaskCompletionListener((TaskCompletionListener) ctx -> c.close());
        return c;
    }

    /**
     * Connects {@code rendezvous}'s ranks over TCP: every rank listens on {@code host} (an
     * ephemeral port), the addresses are exchanged with one {@code rendezvous.allGather}, each
     * rank connects to the lower ranks and accepts the higher ones, then stops listening.
     *
     * @param rendezvous the ranks, used for one all-gather
     * @param host the address this rank listens on and the others connect to
     * @param timeout how long a rank waits without progress for a peer
     * @param cancelCheck called while waiting; throws to stop (a killed task)
     * @return the connected collective
     * @throws IllegalStateException when a peer cannot be reached or does not connect in time
     */
    public static TcpCollective connect(Collective rendezvous, String host, Duration timeout, Runnable cancelCheck) {
        long timeoutMillis = timeout.toMillis();
        if (timeoutMillis <= 0) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        int rank = rendezvous.rank();
        int n = rendezvous.worldSize();
        String me = "rank " + rank;
        TcpLink[] links = new TcpLink[n];
        long nonce = new SecureRandom().nextLong();
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getByName(host), 0), Math.max(n, 1));
            String address = nonce + "@" + host + ":" + server.getLocalPort();
            List<String> all = rendezvous.allGather(address);
            for (int q = 0; q < rank; q++) {
                links[q] = dial(q, all.get(q), rank, n, timeoutMillis, cancelCheck);
            }
            accept(server, links, rank, n, nonce, address, timeoutMillis, cancelCheck);
        } catch (IOException | RuntimeException e) {
            closeAll(links);
            if (e instanceof RuntimeException r) {
                throw r; // ours name the rank; Spark's (a killed task) must keep their type
            }
            throw new IllegalStateException(me + ": TCP rendezvous failed: " + e, e);
        }
        return new TcpCollective(rank, n, links, timeoutMillis, cancelCheck);
    }

    private static TcpLink dial(int peer, String address, int rank, int n, long timeoutMillis, Runnable cancelCheck)
            throws IOException {
        long nonce = Long.parseLong(address.substring(0, address.indexOf('@')));
        String hostPort = address.substring(address.indexOf('@') + 1);
        String host = hostPort.substring(0, hostPort.lastIndexOf(':'));
        int port = Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
        } catch (IOException e) {
            s.close();
            throw new IllegalStateException("rank " + rank + ": cannot connect to rank " + peer + " at " + hostPort
                    + " (" + e.getMessage() + "); a firewall must allow TCP between the executors on ephemeral"
                    + " ports, or use Transport.BARRIER", e);
        }
        TcpLink link = new TcpLink(s, peer, "rank " + rank, timeoutMillis, cancelCheck);
        link.send(ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(TcpLink.MAGIC).putInt(rank).putInt(n).putLong(nonce).array());
        return link;
    }

    private static void accept(ServerSocket server, TcpLink[] links, int rank, int n, long nonce, String address,
            long timeoutMillis, Runnable cancelCheck) throws IOException {
        server.setSoTimeout(TcpLink.SLICE_MILLIS);
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        for (int missing = n - 1 - rank; missing > 0; ) {
            Socket s;
            try {
                s = server.accept();
            } catch (SocketTimeoutException e) {
                cancelCheck.run();
                if (System.nanoTime() > deadline) {
                    TreeSet<Integer> absent = new TreeSet<>();
                    for (int q = rank + 1; q < n; q++) {
                        if (links[q] == null) {
                            absent.add(q);
                        }
                    }
                    throw new IllegalStateException("rank " + rank + ": ranks " + absent + " did not connect within "
                            + timeoutMillis + " ms to " + address.substring(address.indexOf('@') + 1)
                            + "; a firewall must allow TCP between the executors on ephemeral ports, or use"
                            + " Transport.BARRIER");
                }
                continue;
            }
            TcpLink link = new TcpLink(s, -1, "rank " + rank, timeoutMillis, cancelCheck);
            ByteBuffer hello = ByteBuffer.wrap(link.readFully(new byte[20], 20)).order(ByteOrder.LITTLE_ENDIAN);
            int magic = hello.getInt();
            int peer = hello.getInt();
            int world = hello.getInt();
            long theirNonce = hello.getLong();
            if (magic != TcpLink.MAGIC || theirNonce != nonce) {
                link.close(); // not a rank of this rendezvous (a stale attempt, a port scanner): ignore
                continue;
            }
            if (world != n || peer <= rank || peer >= n || links[peer] != null) {
                link.close();
                throw new IllegalStateException("rank " + rank + ": a peer announced itself as rank " + peer + " of "
                        + world + "; expected one of the ranks " + (rank + 1) + ".." + (n - 1) + " of " + n);
            }
            links[peer] = new TcpLink(s, peer, "rank " + rank, timeoutMillis, cancelCheck);
            missing--;
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    /**
     * @return how long a rank waits without progress for a peer, in milliseconds
     */
    public long timeoutMillis() {
        return timeoutMillis;
    }

    @Override
    public float[] allReduceSum(float[] values) {
        long seq = begin();
        String what = "all-reduce of " + values.length + " values";
        try {
            if (sendBuffer.length != TcpLink.HEADER + 4 * values.length) {
                sendBuffer = new byte[TcpLink.HEADER + 4 * values.length];
                receiveBuffer = new byte[4 * values.length];
                received = new float[values.length];
            }
            List<Future<?>> sends = sendToAll(TcpLink.floatFrame(seq, values, sendBuffer));
            float[] sum = null;
            for (int q = 0; q < worldSize; q++) {
                float[] v = values;
                if (q != rank) {
                    int count = links[q].readHeader(seq, TcpLink.FLOATS, what);
                    if (count != values.length) {
                        throw new IllegalStateException("all-reduce: rank " + q + " sent " + count
                                + " values, rank " + rank + " sent " + values.length);
                    }
                    links[q].readFully(receiveBuffer, receiveBuffer.length);
                    ByteBuffer.wrap(receiveBuffer).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(received);
                    v = received;
                }
                if (sum == null) {
                    sum = v.clone();
                } else {
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += v[i];
                    }
                }
            }
            awaitAll(sends);
            return sum;
        } catch (IOException | RuntimeException e) {
            throw fail(e);
        }
    }

    @Override
    public List<String> allGather(String message) {
        long seq = begin();
        try {
            List<Future<?>> sends = sendToAll(TcpLink.byteFrame(seq, message.getBytes(StandardCharsets.UTF_8)));
            List<String> out = new ArrayList<>(worldSize);
            for (int q = 0; q < worldSize; q++) {
                if (q == rank) {
                    out.add(message);
                } else {
                    int count = links[q].readHeader(seq, TcpLink.BYTES, "all-gather");
                    out.add(new String(links[q].readFully(new byte[count], count), StandardCharsets.UTF_8));
                }
            }
            awaitAll(sends);
            return out;
        } catch (IOException | RuntimeException e) {
            throw fail(e);
        }
    }

    @Override
    public void barrier() {
        allGather("");
    }

    private long begin() {
        if (closed) {
            throw new IllegalStateException("rank " + rank + ": the TCP collective is closed");
        }
        return ++sequence;
    }

    /**
     * Tells every peer this rank failed with {@code error}, then closes: a peer waiting in a call
     * fails with "rank R failed (error)" rather than only "closed the connection". Best effort:
     * skipped while a send of this rank is still writing (the message would interleave with it),
     * each send given {@value #ABORT_SEND_MILLIS} ms; idempotent, and a no-op once closed.
     *
     * @param error what this rank's task failed with
     */
    @Override
    public void abort(Throwable error) {
        if (closed) {
            return;
        }
        if (senders != null && inFlight.stream().allMatch(Future::isDone)) {
            List<Future<?>> sends = sendToAll(TcpLink.abortFrame(String.valueOf(error)));
            long deadline = System.nanoTime() + ABORT_SEND_MILLIS * 1_000_000L;
            for (Future<?> f : sends) {
                try {
                    f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                } catch (ExecutionException | TimeoutException e) {
                    // best effort: the close below fails the peer anyway
                }
            }
        }
        close();
    }

    private List<Future<?>> sendToAll(byte[] message) {
        List<Future<?>> sends = new ArrayList<>(worldSize);
        for (TcpLink link : links) {
            if (link != null) {
                sends.add(senders.submit(() -> {
                    try {
                        link.send(message);
                    } catch (IOException e) {
                        throw new IllegalStateException("rank " + rank + ": sending to rank " + link.peer()
                                + " failed (" + e.getMessage() + "): it failed or stopped", e);
                    }
                    return null;
                }));
            }
        }
        inFlight = sends;
        return sends;
    }

    private void awaitAll(List<Future<?>> sends) {
        for (Future<?> f : sends) {
            long since = System.nanoTime();
            while (true) {
                try {
                    f.get(TcpLink.SLICE_MILLIS, TimeUnit.MILLISECONDS);
                    break;
                } catch (TimeoutException e) {
                    cancelCheck.run();
                    if (System.nanoTime() - since > timeoutMillis * 1_000_000L) {
                        throw new IllegalStateException("rank " + rank + ": a send did not finish within "
                                + timeoutMillis + " ms (the transport timeout): a peer stopped reading");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("rank " + rank + ": interrupted while sending", e);
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof RuntimeException r ? r
                            : new IllegalStateException("rank " + rank + ": send failed", e.getCause());
                }
            }
        }
    }

    private RuntimeException fail(Exception e) {
        close(); // the peers fail at once instead of waiting for the timeout
        if (e instanceof RuntimeException r) {
            return r;
        }
        return new IllegalStateException("rank " + rank + ": TCP collective failed: " + e.getMessage(), e);
    }

    /** Closes every connection and stops the sender threads; idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            closeAll(links);
            if (senders != null) {
                senders.shutdownNow();
            }
        }
    }

    /** @return whether {@link #close()} was called, or a call failed */
    public boolean isClosed() {
        return closed;
    }

    private static void closeAll(TcpLink[] links) {
        for (TcpLink l : links) {
            if (l != null) {
                l.close();
            }
        }
    }

    /**
     * @return the host Spark advertises for this executor (its block manager's), or this
     *     machine's address outside Spark
     */
    static String advertisedHost() {
        SparkEnv env = SparkEnv.get();
        if (env != null && env.blockManager() != null && env.blockManager().blockManagerId() != null) {
            return env.blockManager().blockManagerId().host();
        }
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (IOException e) {
            return InetAddress.getLoopbackAddress().getHostAddress();
        }
    }
}
