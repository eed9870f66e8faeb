package dev.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.testing.Mutator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Fuzzes {@link SafetensorsFile} with mutations of valid files: every mutated file either loads
 * correctly (every tensor as an NDArray whose bytes match the file, and as floats where floating)
 * or is rejected with a {@link SafetensorsException}. Anything else (a runtime exception, an
 * error, a read outside the file) fails the test with the seed, iteration and mutation.
 */
class SafetensorsFuzzTest {

    static final long SEED = 0x5afe7e45L;
    static final int FILES = 2400;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] DTYPE_NAMES = {
        "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "U16",
        "U32", "U64", "I4", "f32", ""
    };

    @TempDir Path dir;

    @Test
    void mutatedFilesLoadOrFailWithSafetensorsException() throws IOException {
        List<byte[]> seeds = seeds();
        Mutator m = new Mutator(SEED);
        Map<String, Integer> outcomes = new TreeMap<>();
        int loaded = 0;
        int rejected = 0;
        long tensors = 0;
        long t0 = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int i = 0; i < FILES; i++) {
                byte[] seed = seeds.get(i % seeds.size());
                String[] what = new String[1];
                byte[] bytes = mutate(seed, m, i, what);
                Path file = dir.resolve("fuzz-" + i + ".safetensors");
                Files.write(file, bytes);
                String where = "seed " + SEED + " iteration " + i + " (" + what[0] + ")";
                try (NDManager sub = manager.newSubManager()) {
                    tensors += loadEverything(file, bytes, sub, where);
                    loaded++;
                } catch (SafetensorsException e) {
                    assertEquals(SafetensorsException.class, e.getClass(), where);
                    assertTrue(e.getMessage().startsWith(file.toString()), where + ": " + e);
                    rejected++;
                    outcomes.merge(category(e.getMessage()), 1, Integer::sum);
                } catch (Throwable e) { // NOPMD: anything else is the bug being looked for
                    fail(where + ": " + e, e);
                }
                Files.delete(file);
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf(
                "safetensors fuzz: %d mutated files (seed %#x): %d loaded (%d tensors checked), %d"
                        + " rejected with SafetensorsException, 0 other outcomes, %d ms%n",
                FILES, SEED, loaded, tensors, rejected, ms);
        System.out.println("safetensors fuzz rejections by kind: " + outcomes);
        assertEquals(FILES, loaded + rejected);
        // Both outcomes must be exercised in bulk, or the mutations are too weak or too strong.
        assertTrue(loaded > FILES / 10, "only " + loaded + " mutated files loaded");
        assertTrue(rejected > FILES / 3, "only " + rejected + " mutated files rejected");
    }

    /** Opens the file and loads every tensor, checking each against the file's bytes. */
    private static int loadEverything(Path file, byte[] bytes, NDManager manager, String where)
            throws IOException {
        int n = 0;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                TensorInfo t = f.info(name);
                long start = f.dataStart() + t.begin();
                long end = f.dataStart() + t.end();
                assertTrue(
                        t.begin() >= 0 && end <= bytes.length && start <= end,
                        where + ": " + name + " maps [" + start + ", " + end + ") of a "
                                + bytes.length + "-byte file");
                byte[] stored = java.util.Arrays.copyOfRange(bytes, (int) start, (int) end);
                NDArray a = f.load(name, manager);
                assertArrayEquals(t.shape(), a.getShape().getShape(), where + ": " + name);
                assertEquals(t.dtype().djlType(), a.getDataType(), where + ": " + name);
                checkValues(t, stored, a, where + ": " + name);
                ByteBuffer raw = f.rawBytes(name);
                assertEquals(stored.length, raw.remaining(), where + ": " + name);
                if (t.dtype().isFloating()) {
                    float[] floats = f.loadFloats(name);
                    assertEquals(t.numel(), floats.length, where + ": " + name);
                    if (t.dtype() == DType.F32 || t.dtype() == DType.BF16) {
                        assertArrayEquals(a.toFloatArray(), floats, where + ": " + name);
                    }
                }
                n++;
            }
        }
        return n;
    }

    /** The array holds exactly the stored values, converted as documented. */
    private static void checkValues(TensorInfo t, byte[] stored, NDArray a, String where) {
        ByteBuffer in = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case BF16:
                float[] f = a.toFloatArray();
                for (int i = 0; i < f.length; i++) {
                    assertEquals(
                            (in.getShort(2 * i) & 0xffff) << 16,
                            Float.floatToRawIntBits(f[i]),
                            where + " element " + i);
                }
                break;
            case I16:
                int[] v = a.toIntArray();
                for (int i = 0; i < v.length; i++) {
                    assertEquals(in.getShort(2 * i), v[i], where + " element " + i);
                }
                break;
            default:
                assertArrayEquals(stored, a.toByteArray(), where);
        }
    }

    /** The problem part of a rejection message, for the summary. */
    private static String category(String message) {
        String s = message.replaceAll(".*(tensor '[^']*'|safetensors): ", "");
        s = s.replaceAll("[0-9\\[\\], -]+", " ").replaceAll("'[^']*'", "'…'").trim();
        int cut = s.indexOf(' ', Math.min(s.length(), 18));
        return cut < 0 ? s : s.substring(0, cut);
    }

    // ---- seeds ----

    private List<byte[]> seeds() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        SafetensorsWriter all = SafetensorsWriter.create().metadata("format", "pt");
        int k = 0;
        for (DType d : DType.values()) {
            long[] shape = {2, 3};
            byte[] b = new byte[(int) (6 * d.byteSize())];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (31 * ++k);
            }
            if (d == DType.BOOL) {
                b = new byte[] {0, 1, 1, 0, 1, 0};
            }
            all.add(d.name().toLowerCase(java.util.Locale.ROOT), d, shape, ByteBuffer.wrap(b));
        }
        all.add("scalar", DType.F32, new long[0], ByteBuffer.wrap(new byte[] {0, 0, -64, 63}));
        all.add("empty", DType.F32, new long[] {0, 3}, ByteBuffer.allocate(0));
        all.add("empty_mid", DType.I8, new long[] {2, 0, 4}, ByteBuffer.allocate(0));
        seeds.add(written(all, "all"));
        SafetensorsWriter one = SafetensorsWriter.create();
        one.add("w", DType.F32, new long[] {2, 3}, ByteBuffer.wrap(new byte[24]));
        seeds.add(written(one, "one"));
        SafetensorsWriter half = SafetensorsWriter.create();
        half.add("odd", DType.U8, new long[] {3}, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        half.add("h", DType.F16, new long[] {1, 2}, ByteBuffer.wrap(new byte[] {0, 60, 0, -64}));
        half.add("b", DType.BF16, new long[] {1}, ByteBuffer.wrap(new byte[] {-128, 63}));
        seeds.add(written(half, "half"));
        String shared = System.getProperty(Fixtures.PROPERTY);
        if (shared != null) {
            Path tiny = Path.of(shared, "fixtures", "tiny-causal-lm");
            for (Path p :
                    List.of(
                            tiny.resolve("llama-bf16/model.safetensors"),
                            tiny.resolve("qwen2-f32-sharded/model-00002-of-00002.safetensors"))) {
                if (Files.isRegularFile(p)) {
                    seeds.add(Files.readAllBytes(p));
                }
            }
        }
        return seeds;
    }

    private byte[] written(SafetensorsWriter w, String name) throws IOException {
        Path p = dir.resolve(name + ".seed.safetensors");
        w.write(p);
        return Files.readAllBytes(p);
    }

    // ---- mutations ----

    private static byte[] mutate(byte[] seed, Mutator m, int i, String[] what) {
        int headerEnd = (int) Math.min(seed.length, 8 + headerLength(seed));
        int kind = i % 12;
        switch (kind) {
            case 0:
                what[0] = "bit flips";
                return m.flipBits(seed, 0, seed.length);
            case 1:
                what[0] = "bit flips in header";
                return m.flipBits(seed, 0, headerEnd);
            case 2:
                what[0] = "overwritten bytes";
                return m.overwriteBytes(seed, 0, seed.length);
            case 3:
                what[0] = "truncation";
                return m.truncate(seed);
            case 4:
                what[0] = "splice";
                return m.splice(seed);
            case 5:
                long len =
                        m.random().nextBoolean()
                                ? m.interestingLong()
                                : headerLength(seed) + m.nextInt(17) - 8;
                what[0] = "header length " + len;
                byte[] out = seed.clone();
                ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, len);
                return out;
            case 6:
                return withHeader(seed, h -> what[0] = "json: " + m.mutateTree(h));
            case 7:
                what[0] = "json text damage";
                String text = headerText(seed);
                return rebuild(seed, m.damageJsonText(text).getBytes(StandardCharsets.UTF_8));
            case 8:
                return withHeader(
                        seed,
                        h -> {
                            ObjectNode e = randomEntry(h, m);
                            String d = DTYPE_NAMES[m.nextInt(DTYPE_NAMES.length)];
                            e.put("dtype", d);
                            what[0] = "dtype " + d;
                        });
            case 9:
                return withHeader(seed, h -> what[0] = "shape: " + mutateShape(shapeTarget(h, m), m));
            case 10:
                return withHeader(
                        seed,
                        h -> {
                            ArrayNode o = (ArrayNode) randomEntry(h, m).get("data_offsets");
                            int which = m.nextInt(2);
                            long v =
                                    m.random().nextBoolean()
                                            ? m.interestingLong()
                                            : o.get(which).longValue() + m.nextInt(9) - 4;
                            o.set(which, v);
                            what[0] = "data_offsets[" + which + "] = " + v;
                        });
            default:
                what[0] = "padding / extra data";
                byte[] h = headerText(seed).getBytes(StandardCharsets.UTF_8);
                if (m.random().nextBoolean()) {
                    byte[] padded = java.util.Arrays.copyOf(h, h.length + 1 + m.nextInt(9));
                    java.util.Arrays.fill(padded, h.length, padded.length, (byte) ' ');
                    return rebuild(seed, padded);
                }
                byte[] more = java.util.Arrays.copyOf(seed, seed.length + 1 + m.nextInt(9));
                return more;
        }
    }

    /** Reshapes consistently (same element count) or sets a dimension to an interesting value. */
    private static String mutateShape(ObjectNode entry, Mutator m) {
        ArrayNode shape = (ArrayNode) entry.get("shape");
        long numel = 1;
        for (JsonNode d : shape) {
            numel *= d.longValue();
        }
        switch (m.nextInt(4)) {
            case 0:
                entry.putArray("shape").add(numel);
                return "flatten";
            case 1:
                ArrayNode ones = entry.putArray("shape");
                for (int i = 1 + m.nextInt(80); i > 0; i--) {
                    ones.add(1);
                }
                ones.add(numel);
                return ones.size() + " dims";
            case 2:
                if (numel == 0) {
                    ArrayNode huge = entry.putArray("shape").add(0);
                    for (int i = 1 + m.nextInt(3); i > 0; i--) {
                        huge.add(m.interestingLong());
                    }
                    return "empty with huge dims " + huge;
                }
                if (shape.isEmpty()) {
                    shape.add(1);
                    return "scalar to [1]";
                }
                int i = m.nextInt(shape.size());
                shape.set(i, m.interestingLong());
                return "dim " + i + " = " + shape.get(i);
            default:
                shape.add(m.random().nextBoolean() ? 1 : m.interestingLong());
                return "extra dim " + shape.get(shape.size() - 1);
        }
    }

    /** A random entry, an empty one (when there is one) half of the time. */
    private static ObjectNode shapeTarget(ObjectNode header, Mutator m) {
        if (m.random().nextBoolean()) {
            for (JsonNode e : header) {
                JsonNode o = e.get("data_offsets");
                if (o != null && o.get(0).longValue() == o.get(1).longValue()) {
                    return (ObjectNode) e;
                }
            }
        }
        return randomEntry(header, m);
    }

    private static ObjectNode randomEntry(ObjectNode header, Mutator m) {
        List<String> names = new ArrayList<>();
        header.fieldNames().forEachRemaining(n -> {
            if (!"__metadata__".equals(n)) {
                names.add(n);
            }
        });
        return (ObjectNode) header.get(names.get(m.nextInt(names.size())));
    }

    private static byte[] withHeader(byte[] seed, java.util.function.Consumer<ObjectNode> change) {
        try {
            ObjectNode h = (ObjectNode) JSON.readTree(headerText(seed));
            change.accept(h);
            return rebuild(seed, JSON.writeValueAsBytes(h));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long headerLength(byte[] file) {
        return ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    private static String headerText(byte[] file) {
        return new String(file, 8, (int) headerLength(file), StandardCharsets.UTF_8);
    }

    /** The file with another header (length updated) and the same data section. */
    private static byte[] rebuild(byte[] seed, byte[] header) {
        int dataStart = (int) (8 + headerLength(seed));
        ByteBuffer out =
                ByteBuffer.allocate(8 + header.length + seed.length - dataStart)
                        .order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header).put(seed, dataStart, seed.length - dataStart);
        return out.array();
    }
}
