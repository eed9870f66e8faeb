package dev.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Every dtype survives writer → reader, byte for byte and value for value. */
class SafetensorsRoundTripTest {

    @TempDir Path dir;

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static final double[] F64 = {1.5, -2.25, Math.PI, Double.MAX_VALUE, -0.0, 1e-300};
    private static final float[] F32 = {1.5f, -2.25f, (float) Math.E, Float.MIN_VALUE, -0f, 3e38f};
    private static final short[] F16 = {
        0x3C00, (short) 0xC000, 0x0001, 0x7BFF, 0x3555, (short) 0x8000
    };
    private static final short[] BF16 = {
        0x3F80, (short) 0xC040, 0x0001, 0x7F7F, 0x3EAB, (short) 0xFF80
    };
    private static final long[] I64 = {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE, 42};
    private static final int[] I32 = {Integer.MIN_VALUE, -1, 0, 1, Integer.MAX_VALUE, 42};
    private static final short[] I16 = {Short.MIN_VALUE, -1, 0, 1, Short.MAX_VALUE, 42};
    private static final byte[] I8 = {Byte.MIN_VALUE, -1, 0, 1, Byte.MAX_VALUE, 42};
    private static final byte[] U8 = {0, 1, 42, (byte) 128, (byte) 200, (byte) 255};
    private static final byte[] BOOL = {1, 0, 0, 1, 1, 0};
    private static final long[] SHAPE = {2, 3};

    /** Writes one tensor of each dtype from raw bytes, plus metadata. */
    private Path writeAllDtypes() throws IOException {
        ByteBuffer f64 = le(48);
        for (double v : F64) {
            f64.putDouble(v);
        }
        ByteBuffer f32 = le(24);
        for (float v : F32) {
            f32.putFloat(v);
        }
        ByteBuffer i64 = le(48);
        for (long v : I64) {
            i64.putLong(v);
        }
        ByteBuffer i32 = le(24);
        for (int v : I32) {
            i32.putInt(v);
        }
        Path file = dir.resolve("all.safetensors");
        SafetensorsWriter.create()
                .metadata(Map.of("format", "pt"))
                .metadata("note", "ünïcode ✓")
                .add("f64", DType.F64, SHAPE, f64.flip())
                .add("f32", DType.F32, SHAPE, f32.flip())
                .add("f16", DType.F16, SHAPE, shorts(F16))
                .add("bf16", DType.BF16, SHAPE, shorts(BF16))
                .add("i64", DType.I64, SHAPE, i64.flip())
                .add("i32", DType.I32, SHAPE, i32.flip())
                .add("i16", DType.I16, SHAPE, shorts(I16))
                .add("i8", DType.I8, SHAPE, ByteBuffer.wrap(I8))
                .add("u8", DType.U8, SHAPE, ByteBuffer.wrap(U8))
                .add("bool", DType.BOOL, SHAPE, ByteBuffer.wrap(BOOL))
                .add("scalar", DType.F32, new long[0], le(4).putFloat(7f).flip())
                .add("empty", DType.F32, new long[] {0, 3}, le(0))
                .write(file);
        return file;
    }

    private static ByteBuffer shorts(short[] values) {
        ByteBuffer b = le(values.length * 2);
        for (short v : values) {
            b.putShort(v);
        }
        return b.flip();
    }

    @Test
    void headerIsPaddedToEightWithSpaces() throws IOException {
        byte[] bytes = Files.readAllBytes(writeAllDtypes());
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8, "header length " + n);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":"), header);
        assertTrue(header.stripTrailing().endsWith("}"));
        assertTrue(header.substring(header.stripTrailing().length()).isBlank());
        assertTrue(header.length() - header.stripTrailing().length() < 8);
    }

    @Test
    void infoMetadataAndRawBytesRoundTrip() throws IOException {
        try (SafetensorsFile st = SafetensorsFile.open(writeAllDtypes())) {
            assertEquals(
                    List.of(
                            "f64", "f32", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "bool",
                            "scalar", "empty"),
                    st.names());
            assertEquals(Map.of("format", "pt", "note", "ünïcode ✓"), st.metadata());
            assertEquals(DType.BF16, st.info("bf16").dtype());
            assertArrayEquals(SHAPE, st.info("i16").shape());
            assertEquals(0, st.dataStart() % 8);
            assertEquals(shorts(BF16), st.rawBytes("bf16"));
            assertEquals(shorts(I16), st.rawBytes("i16"));
            assertEquals(ByteBuffer.wrap(U8), st.rawBytes("u8"));
            assertTrue(st.rawBytes("f32").isReadOnly());
            assertEquals(ByteOrder.LITTLE_ENDIAN, st.rawBytes("f32").order());
            assertFalse(st.contains("nope"));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> st.info("nope"));
            assertTrue(
                    e.getMessage().contains("'nope'")
                            && e.getMessage().contains("all.safetensors"));
        }
    }

    @Test
    void everyDtypeLoadsExactly() throws IOException {
        try (SafetensorsFile st = SafetensorsFile.open(writeAllDtypes());
                NDManager m = NDManager.newBaseManager()) {
            assertTrue(st.isZeroCopy());
            assertLoadsExactly(st, m);
        }
    }

    @Test
    void copyingModeLoadsTheSame() throws IOException {
        try (SafetensorsFile st = SafetensorsFile.open(writeAllDtypes(), false);
                NDManager m = NDManager.newBaseManager()) {
            assertFalse(st.isZeroCopy());
            assertLoadsExactly(st, m);
        }
    }

    @Test
    void chunkedLoadingGivesTheSameArrays() throws IOException {
        try (SafetensorsFile st = SafetensorsFile.open(writeAllDtypes());
                NDManager m = NDManager.newBaseManager()) {
            st.chunkBytes(8); // 2 floats per chunk: every tensor is split
            assertLoadsExactly(st, m);
        }
    }

    private static void assertLoadsExactly(SafetensorsFile st, NDManager m) throws IOException {
        Shape shape = new Shape(SHAPE);
        NDArray f64 = st.load("f64", m);
        assertEquals(DataType.FLOAT64, f64.getDataType());
        assertEquals(shape, f64.getShape());
        assertArrayEquals(F64, f64.toDoubleArray());
        assertArrayEquals(F32, st.load("f32", m).toFloatArray());

        NDArray f16 = st.load("f16", m);
        assertEquals(DataType.FLOAT16, f16.getDataType(), "F16 keeps its type");
        float[] f16Expected = new float[F16.length];
        float[] bf16Expected = new float[BF16.length];
        int[] i16Expected = new int[I16.length];
        for (int i = 0; i < F16.length; i++) {
            f16Expected[i] = HalfFloats.halfToFloat(F16[i]);
            bf16Expected[i] = Float.intBitsToFloat((BF16[i] & 0xFFFF) << 16);
            i16Expected[i] = I16[i];
        }
        assertArrayEquals(f16Expected, f16.toType(DataType.FLOAT32, false).toFloatArray());

        NDArray bf16 = st.load("bf16", m);
        assertEquals(DataType.FLOAT32, bf16.getDataType());
        assertEquals(shape, bf16.getShape());
        assertArrayEquals(bf16Expected, bf16.toFloatArray());
        assertArrayEquals(bf16Expected, st.loadFloats("bf16"));
        NDArray bf16AsHalf = st.load("bf16", m, DataType.FLOAT16);
        assertEquals(DataType.FLOAT16, bf16AsHalf.getDataType());
        float[] viaTorch =
                m.create(bf16Expected)
                        .toType(DataType.FLOAT16, false)
                        .toType(DataType.FLOAT32, false)
                        .toFloatArray();
        assertArrayEquals(viaTorch, bf16AsHalf.toType(DataType.FLOAT32, false).toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> st.load("bf16", m, DataType.FLOAT64));

        assertArrayEquals(I64, st.load("i64", m).toLongArray());
        assertArrayEquals(I32, st.load("i32", m).toIntArray());
        NDArray i16 = st.load("i16", m);
        assertEquals(DataType.INT32, i16.getDataType(), "I16 is widened");
        assertArrayEquals(i16Expected, i16.toIntArray());
        assertArrayEquals(I8, st.load("i8", m).toByteArray());
        NDArray u8 = st.load("u8", m);
        assertEquals(DataType.UINT8, u8.getDataType());
        assertArrayEquals(U8, u8.toByteArray());
        NDArray bool = st.load("bool", m);
        assertEquals(DataType.BOOLEAN, bool.getDataType());
        assertArrayEquals(
                new boolean[] {true, false, false, true, true, false}, bool.toBooleanArray());

        NDArray scalar = st.load("scalar", m);
        assertEquals(new Shape(), scalar.getShape());
        assertEquals(7f, scalar.getFloat());
        NDArray empty = st.load("empty", m);
        assertEquals(new Shape(0, 3), empty.getShape());

        assertArrayEquals(F32, st.loadFloats("f32"));
        assertArrayEquals(f16Expected, st.loadFloats("f16"));
        assertEquals((float) Math.PI, st.loadFloats("f64")[2]);
        assertThrows(IllegalArgumentException.class, () -> st.loadFloats("i32"));
    }

    @Test
    void ndArraysRoundTrip() throws IOException {
        Path file = dir.resolve("arrays.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray f32 = m.arange(0f, 12f).reshape(3, 4);
            NDArray transposed = f32.transpose();
            NDArray f16 = m.create(new float[] {0.5f, -1f, 65504f}).toType(DataType.FLOAT16, false);
            NDArray i64 = m.create(new long[] {1, -2, Long.MAX_VALUE});
            NDArray bool = m.create(new boolean[] {true, false});
            NDArray u8 = m.create(new byte[] {0, (byte) 255}).toType(DataType.UINT8, false);
            SafetensorsWriter.create()
                    .add("f32", f32)
                    .add("t", transposed)
                    .add("f16", f16)
                    .add("i64", i64)
                    .add("bool", bool)
                    .add("u8", u8)
                    .write(file);
            SafetensorsWriter sliced =
                    SafetensorsWriter.create().add("f32", f32).add("t", transposed);
            sliced.sliceBytes(12);
            Path slicedFile = dir.resolve("sliced.safetensors");
            sliced.write(slicedFile);
            try (SafetensorsFile st = SafetensorsFile.open(file);
                    SafetensorsFile sl = SafetensorsFile.open(slicedFile)) {
                assertEquals(DType.F16, st.info("f16").dtype());
                assertEquals(DType.U8, st.info("u8").dtype());
                assertEquals(new Shape(4, 3), st.load("t", m).getShape());
                for (String name : List.of("f32", "t")) {
                    assertArrayEquals(
                            name.equals("t") ? transposed.toFloatArray() : f32.toFloatArray(),
                            st.loadFloats(name));
                    assertEquals(st.rawBytes(name), sl.rawBytes(name));
                }
                assertArrayEquals(new float[] {0.5f, -1f, 65504f}, st.loadFloats("f16"));
                assertArrayEquals(i64.toLongArray(), st.load("i64", m).toLongArray());
                assertArrayEquals(bool.toBooleanArray(), st.load("bool", m).toBooleanArray());
                assertArrayEquals(u8.toByteArray(), st.load("u8", m).toByteArray());
            }
        }
    }

    @Test
    void writerRejectsBadInput() {
        SafetensorsWriter w = SafetensorsWriter.create().add("a", DType.F32, new long[] {1}, le(4));
        assertThrows(
                IllegalArgumentException.class, () -> w.add("a", DType.F32, new long[] {1}, le(4)));
        assertThrows(
                IllegalArgumentException.class,
                () -> w.add("__metadata__", DType.F32, new long[] {1}, le(4)));
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> w.add("b", DType.F32, new long[] {2}, le(4)));
        assertTrue(
                e.getMessage().contains("4 bytes given but shape [2] of F32 needs 8"),
                e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> w.add("c", DType.F32, new long[] {-1}, le(0)));
    }

    @Test
    void failedWriteLeavesNoPartialOutput() throws IOException {
        Path file = dir.resolve("target.safetensors");
        SafetensorsWriter.create()
                .add("old", DType.U8, new long[] {1}, ByteBuffer.wrap(new byte[] {9}))
                .write(file);
        byte[] before = Files.readAllBytes(file);
        SafetensorsWriter w;
        try (NDManager m = NDManager.newBaseManager()) {
            w =
                    SafetensorsWriter.create()
                            .add("a", DType.F32, new long[] {1}, le(4))
                            .add("closed", m.create(new float[] {1, 2}));
        }
        assertThrows(RuntimeException.class, () -> w.write(file));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "temporary file removed");
        }
    }

    @Test
    void misalignedTensorIsCopiedCorrectly() throws IOException {
        // Unpadded header of odd length: the F32 data starts at an odd file offset.
        String header =
                SafetensorsTestFiles.JSON.writeValueAsString(
                        SafetensorsTestFiles.JSON
                                .createObjectNode()
                                .set(
                                        "w",
                                        SafetensorsTestFiles.entry("F32", new long[] {3}, 0, 12)));
        if ((8 + header.length()) % 4 == 0) {
            header = header + " ";
        }
        Path file =
                SafetensorsTestFiles.write(
                        dir.resolve("odd.safetensors"),
                        header,
                        SafetensorsTestFiles.floats(1, -2, 3));
        try (SafetensorsFile st = SafetensorsFile.open(file);
                NDManager m = NDManager.newBaseManager()) {
            assertTrue(st.dataStart() % 4 != 0);
            assertArrayEquals(new float[] {1, -2, 3}, st.load("w", m).toFloatArray());
        }
    }

    @Test
    void inPlaceChangesNeverReachTheFile() throws IOException {
        Path file = writeAllDtypes();
        byte[] before = Files.readAllBytes(file);
        try (SafetensorsFile st = SafetensorsFile.open(file);
                NDManager m = NDManager.newBaseManager()) {
            NDArray w = st.load("f32", m);
            w.addi(1f);
            w.muli(3f);
            assertEquals((1.5f + 1f) * 3f, w.toFloatArray()[0]);
            NDArray i = st.load("i64", m);
            i.addi(m.create(1L));
            assertArrayEquals(F32, st.load("f32", m).toFloatArray(), "a fresh load sees the file");
        }
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    @Test
    void arraysOutliveTheirFile() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w;
            try (SafetensorsFile st = SafetensorsFile.open(writeAllDtypes())) {
                w = st.load("f32", m);
            }
            System.gc();
            assertArrayEquals(F32, w.toFloatArray());
        }
    }
}
