package dev.peft4j.spark;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One connection of a {@link TcpCollective} to a peer, with the wire format of its messages:
 * a 20-byte little-endian header {@code [magic int32][sequence int64][kind int32][count int32]}
 * followed by {@code count} float32 values (little-endian IEEE 754, {@link #FLOATS}) or {@code
 * count} bytes ({@link #BYTES}). A rank that fails sends, where it can, an {@link #ABORT}: its
 * error as UTF-8 text, which the peer's next read reports instead of a bare closed connection.
 *
 * <p>Reads wait in slices of {@link #SLICE_MILLIS}: between slices the owner's cancellation check
 * runs (a killed Spark task stops waiting), and a read that makes no progress for the timeout
 * fails. A peer that closes the connection or dies (its operating system closes the socket) fails
 * the read at once.
 */
final class TcpLink implements AutoCloseable {

    /** "P4JC": the first four bytes of every header and of the hello. */
    static final int MAGIC = 0x50344A43;
    /** A message of float32 values. */
    static final int FLOATS = 1;
    /** A message of bytes (UTF-8 text). */
    static final int BYTES = 2;
    /** A failing rank's last message: its error as UTF-8 text, any sequence number. */
    static final int ABORT = 3;
    /** The longest error text an {@link #ABORT} carries (longer ones are cut). */
    static final int MAX_ABORT_BYTES = 4096;
    /** Header bytes. */
    static final int HEADER = 20;
    /** How long one blocking read waits before the cancellation and timeout checks. */
    static final int SLICE_MILLIS = 200;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final int peer;
    private final String owner;
    private final long timeoutNanos;
    private final Runnable cancelCheck;

    /**
     * @param socket a connected socket
     * @param peer the rank at the other end; -1 while unknown (before its hello)
     * @param owner names this end in messages ("rank 0")
     * @param timeoutMillis how long a read may make no progress
     * @param cancelCheck throws when the owner's task was cancelled
     * @throws IOException when the socket cannot be set up
     */
    TcpLink(Socket socket, int peer, String owner, long timeoutMillis, Runnable cancelCheck) throws IOException {
        this.socket = socket;
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(SLICE_MILLIS);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.peer = peer;
        this.owner = owner;
        this.timeoutNanos = timeoutMillis * 1_000_000L;
        this.cancelCheck = cancelCheck;
    }

    /** @return the rank at the other end */
    int peer() {
        return peer;
    }

    /**
     * @param sequence the collective call's number
     * @param kind {@link #FLOATS} or {@link #BYTES}
     * @param count values or bytes
     * @param payloadBytes the payload's size in bytes
     * @return a buffer holding the header, positioned after it, with room for the payload
     */
    static ByteBuffer frame(long sequence, int kind, int count, int payloadBytes) {
        ByteBuffer b = ByteBuffer.allocate(HEADER + payloadBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putLong(sequence).putInt(kind).putInt(count);
        return b;
    }

    /**
     * @param sequence the collective call's number
     * @param values the values
     * @param into a buffer of exactly {@code HEADER + 4·values.length} bytes
     * @return {@code into}, holding the whole message
     */
    static byte[] floatFrame(long sequence, float[] values, byte[] into) {
        ByteBuffer b = ByteBuffer.wrap(into).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putLong(sequence).putInt(FLOATS).putInt(values.length);
        b.asFloatBuffer().put(values);
        return into;
    }

    /**
     * @param sequence the collective call's number
     * @param bytes the bytes
     * @return the whole message
     */
    static byte[] byteFrame(long sequence, byte[] bytes) {
        ByteBuffer b = frame(sequence, BYTES, bytes.length, bytes.length);
        b.put(bytes);
        return b.array();
    }

    /**
     * @param error what the sending rank failed with
     * @return an {@link #ABORT} message carrying it
     */
    static byte[] abortFrame(String error) {
        byte[] text = error.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(text.length, MAX_ABORT_BYTES);
        ByteBuffer b = frame(-1, ABORT, n, n);
        b.put(text, 0, n);
        return b.array();
    }

    /**
     * @param message a whole message (or the hello)
     * @throws IOException when the connection fails
     */
    void send(byte[] message) throws IOException {
        out.write(message);
        out.flush();
    }

    /**
     * Reads the next header and checks it is the one expected.
     *
     * @param sequence the expected call number
     * @param kind the expected kind
     * @param what the call, for messages ("all-reduce of 5 values")
     * @return the header's count
     * @throws IOException when the connection fails
     * @throws IllegalStateException when the peer is out of step, sent a foreign message, or
     *     failed (its {@link #ABORT} names its error)
     */
    int readHeader(long sequence, int kind, String what) throws IOException {
        ByteBuffer h = ByteBuffer.wrap(readFully(new byte[HEADER], HEADER)).order(ByteOrder.LITTLE_ENDIAN);
        int magic = h.getInt();
        long seq = h.getLong();
        int k = h.getInt();
        int count = h.getInt();
        if (magic != MAGIC) {
            throw new IllegalStateException(owner + ": rank " + peer + " sent a message that is not peft4j's"
                    + " (magic 0x" + Integer.toHexString(magic) + ")");
        }
        if (k == ABORT && count >= 0 && count <= MAX_ABORT_BYTES) {
            String error = new String(readFully(new byte[count], count), StandardCharsets.UTF_8);
            throw new IllegalStateException(owner + ": rank " + peer + " failed (" + error
                    + "); the collective cannot continue");
        }
        if (seq != sequence || k != kind) {
            throw new IllegalStateException(owner + ": rank " + peer + " is out of step: expected call " + sequence
                    + " (" + what + "), got call " + seq + " (" + kindName(k) + "); every rank must make the same"
                    + " collective calls in the same order");
        }
        if (count < 0) {
            throw new IllegalStateException(owner + ": rank " + peer + " sent a negative length " + count);
        }
        return count;
    }

    /**
     * @param into the buffer
     * @param length bytes to read into its start
     * @return {@code into}
     * @throws IOException when the connection fails
     * @throws IllegalStateException when the peer closed the connection, made no progress for the
     *     timeout, or the owner's task was cancelled
     */
    byte[] readFully(byte[] into, int length) throws IOException {
        int off = 0;
        long lastProgress = System.nanoTime();
        while (off < length) {
            int n;
            try {
                n = in.read(into, off, length - off);
            } catch (SocketTimeoutException e) {
                checkWaiting(lastProgress);
                continue;
            }
            if (n < 0) {
                throw new IllegalStateException(owner + ": " + peerName() + " closed the connection (it failed or"
                        + " stopped); the collective cannot continue");
            }
            off += n;
            lastProgress = System.nanoTime();
        }
        return into;
    }

    private void checkWaiting(long since) {
        cancelCheck.run();
        if (Thread.currentThread().isInterrupted()) {
            throw new IllegalStateException(owner + ": interrupted while waiting for " + peerName());
        }
        if (System.nanoTime() - since > timeoutNanos) {
            throw new IllegalStateException(owner + ": " + peerName() + " sent nothing for "
                    + timeoutNanos / 1_000_000 + " ms (the transport timeout): it hangs, is unreachable,"
                    + " or is slower than the timeout allows");
        }
    }

    private String peerName() {
        return peer < 0 ? "a connecting peer" : "rank " + peer;
    }

    private static String kindName(int kind) {
        return switch (kind) {
            case FLOATS -> "all-reduce";
            case BYTES -> "all-gather";
            case ABORT -> "abort";
            default -> "unknown kind " + kind;
        };
    }

    /** Closes the socket; a blocked read or write on it fails. */
    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is best effort
        }
    }
}
