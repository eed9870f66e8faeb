package dev.peft4j.minilm;

import static dev.peft4j.minilm.ProtoWriter.create;
import static dev.peft4j.minilm.ProtoWriter.floatsLe;
import static dev.peft4j.minilm.ProtoWriter.intAttribute;
import static dev.peft4j.minilm.ProtoWriter.node;
import static dev.peft4j.minilm.ProtoWriter.tensor;
import static dev.peft4j.minilm.ProtoWriter.valueInfo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorInfo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** OnnxWeights on a small hand-built model covering every supported type and storage form. */
class OnnxWeightsTest {

    private static final String QUERY = "/encoder/layer.0/attention/self/query/MatMul";

    /** The hand-built model. */
    static byte[] smallModel() {
        ProtoWriter g = create();
        // Nodes come first, as exporters write them; order does not matter to the reader.
        g.message(1, node(QUERY, "MatMul", "x", "onnx::MatMul_7"));
        g.message(1, node("/encoder/layer.0/attention/self/query/Add", "Add", "q", "bias"));
        g.message(
                1,
                node("/pooler/dense/Gemm", "Gemm", "h", "onnx::Gemm_3", "onnx::Gemm_4")
                        .message(5, intAttribute("transB", 1)));
        g.message(1, node("/classifier/Gemm", "Gemm", "p", "onnx::Gemm_9"));
        g.string(2, "tiny");
        // [in=3, out=2] as the exporter stores it; HF [2, 3] is [[1, 3, 5], [2, 4, 6]].
        g.message(5, tensor("onnx::MatMul_7", 1, 3, 2).bytes(9, floatsLe(1, 2, 3, 4, 5, 6)));
        g.message(
                5,
                tensor("encoder.layer.0.attention.self.query.bias", 1, 2)
                        .bytes(4, floatsLe(0.5f, -1.5f)));
        g.message(5, tensor("embeddings.position_ids", 7, 1, 3).packedVarints(7, 0, 1, 2));
        g.message(5, tensor("onnx::Gemm_3", 1, 2, 2).bytes(9, floatsLe(1, 2, 3, 4)));
        g.message(5, tensor("onnx::Gemm_4", 1, 2).bytes(9, floatsLe(7, 8)));
        g.message(5, tensor("onnx::Gemm_9", 1, 3, 2).bytes(9, floatsLe(1, 2, 3, 4, 5, 6)));
        g.message(5, tensor("half", 10, 2).bytes(9, new byte[] {0x00, 0x3c, 0x00, (byte) 0xc0}));
        g.message(
                5, tensor("bf", 16, 2).bytes(9, new byte[] {(byte) 0xc0, 0x3f, 0x40, (byte) 0xc0}));
        g.message(5, tensor("bf_typed", 16, 2).packedVarints(5, 0x3fc0, 0xc040));
        g.message(
                5,
                tensor("i16", 5, 3).bytes(9, new byte[] {(byte) 0xfe, (byte) 0xff, 0x2c, 1, 7, 0}));
        g.message(5, tensor("i16_typed", 5, 3).packedVarints(5, -2, 300, 7));
        g.message(
                5,
                tensor("dbl", 11, 2)
                        .fixed64(10, Double.doubleToLongBits(0.25))
                        .fixed64(10, Double.doubleToLongBits(-8)));
        g.message(5, tensor("flags", 9, 2).bytes(9, new byte[] {1, 0}));
        g.message(5, tensor("u8", 2, 2).bytes(9, new byte[] {(byte) 255, 1}));
        g.message(5, tensor("i8", 3, 2).packedVarints(5, -5, 7));
        g.message(5, tensor("scalar", 1).bytes(9, floatsLe(3.5f)));
        g.message(5, tensor("empty", 1, 0));
        g.message(
                5,
                create().varint(1, 2)
                        .varint(1, 1)
                        .varint(2, 1)
                        .string(8, "unpacked")
                        .fixed32(4, Float.floatToIntBits(-1f))
                        .fixed32(4, Float.floatToIntBits(2f)));
        g.message(11, valueInfo("x"));
        g.message(11, valueInfo("embeddings.position_ids")); // old exporters list initializers
        g.message(12, valueInfo("y"));
        return create().varint(1, 7)
                .string(2, "test")
                .string(3, "0.1")
                .message(7, g)
                .message(8, create().varint(2, 14))
                .message(8, create().string(1, "com.microsoft").varint(2, 1))
                .message(14, create().string(1, "author").string(2, "peft4j"))
                .toByteArray();
    }

    @Test
    void namesShapesAndTypes() throws IOException {
        try (OnnxWeights w = OnnxWeights.fromBytes(smallModel(), "tiny.onnx")) {
            assertEquals(
                    List.of(
                            "encoder.layer.0.attention.self.query.weight",
                            "encoder.layer.0.attention.self.query.bias",
                            "embeddings.position_ids",
                            "pooler.dense.weight",
                            "pooler.dense.bias",
                            "classifier.weight",
                            "half",
                            "bf",
                            "bf_typed",
                            "i16",
                            "i16_typed",
                            "dbl",
                            "flags",
                            "u8",
                            "i8",
                            "scalar",
                            "empty",
                            "unpacked"),
                    w.names());
            assertInfo(w, "encoder.layer.0.attention.self.query.weight", DType.F32, 2, 3);
            assertInfo(w, "embeddings.position_ids", DType.I64, 1, 3);
            assertInfo(w, "pooler.dense.weight", DType.F32, 2, 2);
            assertInfo(w, "classifier.weight", DType.F32, 2, 3);
            assertInfo(w, "half", DType.F16, 2);
            assertInfo(w, "bf", DType.BF16, 2);
            assertInfo(w, "i16_typed", DType.I16, 3);
            assertInfo(w, "dbl", DType.F64, 2);
            assertInfo(w, "flags", DType.BOOL, 2);
            assertInfo(w, "u8", DType.U8, 2);
            assertInfo(w, "i8", DType.I8, 2);
            assertInfo(w, "scalar", DType.F32);
            assertInfo(w, "empty", DType.F32, 0);
            assertInfo(w, "unpacked", DType.F32, 2, 1);

            assertEquals(
                    "onnx::MatMul_7", w.onnxName("encoder.layer.0.attention.self.query.weight"));
            assertTrue(w.isTransposed("encoder.layer.0.attention.self.query.weight"));
            assertFalse(w.isTransposed("pooler.dense.weight"));
            assertTrue(w.isTransposed("classifier.weight"));
            assertFalse(w.contains("onnx::MatMul_7"));
            assertTrue(w.contains("pooler.dense.bias"));
            TensorInfo bias = w.info("encoder.layer.0.attention.self.query.bias");
            assertEquals(8, bias.byteSize());

            assertEquals(List.of("x"), w.graphInputs());
            assertEquals(List.of("y"), w.graphOutputs());
            assertEquals(
                    Map.of(
                            "onnx.ir_version", "7",
                            "onnx.producer_name", "test",
                            "onnx.producer_version", "0.1",
                            "onnx.graph_name", "tiny",
                            "onnx.opset", "14",
                            "onnx.opset.com.microsoft", "1",
                            "author", "peft4j"),
                    w.metadata());
            assertEquals(Path.of("tiny.onnx"), w.location());
        }
    }

    @Test
    void anonymousConstantsAreLeftOut() throws IOException {
        ProtoWriter g =
                create().message(1, node("MatMul_0", "MatMul", "x", "onnx::MatMul_1"))
                        .message(1, node("/a/Add", "Add", "x", "onnx::Add_2"))
                        .message(5, tensor("onnx::MatMul_1", 1, 1, 1).bytes(9, floatsLe(1)))
                        .message(5, tensor("onnx::Add_2", 1, 1).bytes(9, floatsLe(2)))
                        .message(5, tensor("kept", 1, 1).bytes(9, floatsLe(3)));
        try (OnnxWeights w = OnnxWeights.fromBytes(ProtoWriter.model(g), "c.onnx")) {
            // "MatMul_0" has no module path, and Add nodes do not name weights.
            assertEquals(List.of("kept"), w.names());
        }
    }

    @Test
    void valuesInJava() throws IOException {
        try (OnnxWeights w = OnnxWeights.fromBytes(smallModel(), "tiny.onnx")) {
            String q = "encoder.layer.0.attention.self.query.weight";
            assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, w.loadFloats(q));
            ByteBuffer raw = w.rawBytes(q);
            assertEquals(ByteOrder.LITTLE_ENDIAN, raw.order());
            assertTrue(raw.isReadOnly());
            assertArrayEquals(floatsLe(1, 3, 5, 2, 4, 6), bytes(raw));
            assertArrayEquals(
                    new float[] {0.5f, -1.5f},
                    w.loadFloats("encoder.layer.0.attention.self.query.bias"));
            assertArrayEquals(new float[] {1, 2, 3, 4}, w.loadFloats("pooler.dense.weight"));
            assertArrayEquals(new float[] {7, 8}, w.loadFloats("pooler.dense.bias"));
            assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, w.loadFloats("classifier.weight"));
            assertArrayEquals(new float[] {1, -2}, w.loadFloats("half"));
            assertArrayEquals(new float[] {1.5f, -3}, w.loadFloats("bf"));
            assertArrayEquals(new float[] {1.5f, -3}, w.loadFloats("bf_typed"));
            assertArrayEquals(new float[] {0.25f, -8}, w.loadFloats("dbl"));
            assertArrayEquals(new float[] {3.5f}, w.loadFloats("scalar"));
            assertArrayEquals(new float[0], w.loadFloats("empty"));
            assertArrayEquals(new float[] {-1, 2}, w.loadFloats("unpacked"));
            assertArrayEquals(
                    new byte[] {(byte) 0xfe, (byte) 0xff, 0x2c, 1, 7, 0},
                    bytes(w.rawBytes("i16_typed")));
            assertArrayEquals(new byte[] {(byte) 0xfb, 7}, bytes(w.rawBytes("i8")));

            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> w.loadFloats("i16"));
            assertEquals(
                    "tensor 'i16' in tiny.onnx has dtype I16, not a floating type", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> w.info("onnx::MatMul_7"));
            assertEquals("no tensor 'onnx::MatMul_7' in tiny.onnx (18 tensors)", e.getMessage());
        }
    }

    @Test
    void loadsAsNdArrays() throws IOException {
        try (OnnxWeights w = OnnxWeights.fromBytes(smallModel(), "tiny.onnx");
                NDManager m = NDManager.newBaseManager()) {
            NDArray q = w.load("encoder.layer.0.attention.self.query.weight", m);
            assertEquals(new Shape(2, 3), q.getShape());
            assertEquals(DataType.FLOAT32, q.getDataType());
            assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, q.toFloatArray());

            NDArray bf = w.load("bf", m);
            assertEquals(DataType.FLOAT32, bf.getDataType());
            assertArrayEquals(new float[] {1.5f, -3}, bf.toFloatArray());
            NDArray bf16 = w.load("bf_typed", m, DataType.FLOAT16);
            assertEquals(DataType.FLOAT16, bf16.getDataType());
            assertArrayEquals(
                    new float[] {1.5f, -3}, bf16.toType(DataType.FLOAT32, false).toFloatArray());

            NDArray i16 = w.load("i16", m);
            assertEquals(DataType.INT32, i16.getDataType());
            assertArrayEquals(new int[] {-2, 300, 7}, i16.toIntArray());

            NDArray half = w.load("half", m);
            assertEquals(DataType.FLOAT16, half.getDataType());
            assertArrayEquals(
                    new float[] {1, -2}, half.toType(DataType.FLOAT32, false).toFloatArray());

            NDArray pos = w.load("embeddings.position_ids", m);
            assertEquals(DataType.INT64, pos.getDataType());
            assertEquals(new Shape(1, 3), pos.getShape());
            assertArrayEquals(new long[] {0, 1, 2}, pos.toLongArray());

            assertArrayEquals(new double[] {0.25, -8}, w.load("dbl", m).toDoubleArray());
            assertArrayEquals(new boolean[] {true, false}, w.load("flags", m).toBooleanArray());
            NDArray u8 = w.load("u8", m);
            assertEquals(DataType.UINT8, u8.getDataType());
            assertArrayEquals(new int[] {255, 1}, u8.toUint8Array());
            assertArrayEquals(new byte[] {-5, 7}, w.load("i8", m).toByteArray());
            NDArray empty = w.load("empty", m);
            assertEquals(new Shape(0), empty.getShape());
            assertEquals(DataType.FLOAT32, empty.getDataType());
            NDArray scalar = w.load("scalar", m);
            assertEquals(new Shape(), scalar.getShape());
            assertEquals(3.5f, scalar.getFloat());

            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class, () -> w.load("bf", m, DataType.INT32));
            assertEquals("bf16Target must be FLOAT32, FLOAT16 or null, not int32", e.getMessage());
        }
    }

    @Test
    void fileStreamAndBytesAgree(@TempDir Path dir) throws IOException {
        byte[] model = smallModel();
        Path file = dir.resolve("tiny.onnx");
        Files.write(file, model);
        String q = "encoder.layer.0.attention.self.query.weight";
        try (OnnxWeights mapped = OnnxWeights.open(file);
                OnnxWeights sized =
                        OnnxWeights.read(new ByteArrayInputStream(model), model.length, "s");
                OnnxWeights unsized = OnnxWeights.read(new ByteArrayInputStream(model), "u");
                NDManager m = NDManager.newBaseManager()) {
            assertEquals(file, mapped.location());
            assertTrue(mapped.rawBytes("pooler.dense.bias").isDirect());
            for (OnnxWeights w : List.of(mapped, sized, unsized)) {
                assertEquals(18, w.names().size());
                assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, w.loadFloats(q));
                NDArray bias = w.load("pooler.dense.bias", m);
                // Loaded arrays own their memory: writing to one must not touch the model bytes.
                bias.addi(1);
                assertArrayEquals(new float[] {8, 9}, bias.toFloatArray());
                assertArrayEquals(new float[] {7, 8}, w.loadFloats("pooler.dense.bias"));
            }
        }
    }

    @Test
    void streamOfWrongSize() {
        byte[] model = smallModel();
        OnnxFormatException e =
                assertThrows(
                        OnnxFormatException.class,
                        () ->
                                OnnxWeights.read(
                                        new ByteArrayInputStream(model), model.length + 5L, "s"));
        assertEquals(
                "malformed ONNX model s: stream ended after "
                        + model.length
                        + " of "
                        + (model.length + 5)
                        + " bytes",
                e.getMessage());
        e =
                assertThrows(
                        OnnxFormatException.class,
                        () ->
                                OnnxWeights.read(
                                        new ByteArrayInputStream(model), model.length - 1L, "s"));
        assertEquals(
                "malformed ONNX model s: stream holds more than " + (model.length - 1) + " bytes",
                e.getMessage());
        e =
                assertThrows(
                        OnnxFormatException.class,
                        () -> OnnxWeights.read(new ByteArrayInputStream(model), 1L << 40, "s"));
        assertEquals(
                "malformed ONNX model s: unsupported model size 1099511627776 (0 to 2 GiB)",
                e.getMessage());
    }

    @Test
    void closedWeightsRefuseData() throws IOException {
        OnnxWeights w = OnnxWeights.fromBytes(smallModel(), "tiny.onnx");
        w.close();
        assertEquals(18, w.names().size());
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> w.rawBytes("half"));
        assertEquals("ONNX weights of tiny.onnx are closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> w.loadFloats("bf_typed"));
    }

    private static void assertInfo(OnnxWeights w, String name, DType dtype, long... shape) {
        TensorInfo info = w.info(name);
        assertEquals(name, info.name());
        assertEquals(dtype, info.dtype(), name);
        assertArrayEquals(shape, info.shape(), name);
        assertEquals(info.numel() * dtype.byteSize(), info.byteSize(), name);
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
