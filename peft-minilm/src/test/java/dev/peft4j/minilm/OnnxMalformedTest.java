package dev.peft4j.minilm;

import static dev.peft4j.minilm.ProtoWriter.create;
import static dev.peft4j.minilm.ProtoWriter.floatsLe;
import static dev.peft4j.minilm.ProtoWriter.modelWithInitializer;
import static dev.peft4j.minilm.ProtoWriter.node;
import static dev.peft4j.minilm.ProtoWriter.tensor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/** Every kind of malformed input yields an OnnxFormatException with a specific message. */
class OnnxMalformedTest {

    private static final String SUPPORTED =
            "FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32, INT16, INT8, UINT8, BOOL";

    // Offsets in messages are absolute. In ProtoWriter.modelWithInitializer the tensor message
    // starts at byte 17, and ProtoWriter.tensor(name, type, dim) writes 8 bytes for a one-letter
    // name.

    private static void assertMalformed(String problem, byte[] model) {
        OnnxFormatException e =
                assertThrows(
                        OnnxFormatException.class, () -> OnnxWeights.fromBytes(model, "m.onnx"));
        assertEquals("malformed ONNX model m.onnx: " + problem, e.getMessage());
        assertEquals(problem, e.problem());
        assertEquals("m.onnx", e.source());
    }

    private static void assertBadTensor(String problem, ProtoWriter tensor) {
        assertMalformed(problem + " (in graph.initializer[0])", modelWithInitializer(tensor));
    }

    private static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) b[i];
        }
        return out;
    }

    // ---- wire format ----

    @Test
    void nullArgumentsAreNamed() {
        // docs/reliability.md, input validation table (moved here from peft-core's InputValidationTest).
        assertEquals("file", assertThrows(NullPointerException.class, () -> OnnxWeights.open(null)).getMessage());
        assertEquals("model",
                assertThrows(NullPointerException.class, () -> OnnxWeights.fromBytes(null, "m.onnx")).getMessage());
    }

    @Test
    void emptyInputHasNoGraph() {
        assertMalformed("no graph (ModelProto field 7) (in model)", new byte[0]);
    }

    @Test
    void truncatedVarint() {
        assertMalformed("truncated varint at byte 1 (in model)", bytes(0x08, 0x80));
        assertMalformed("truncated varint at byte 0 (in model)", bytes(0x80));
    }

    @Test
    void overlongVarint() {
        byte[] b = new byte[12];
        Arrays.fill(b, (byte) 0xff);
        b[0] = 0x08;
        b[11] = 0x01;
        assertMalformed("malformed varint (more than 10 bytes) at byte 1 (in model)", b);
    }

    @Test
    void lengthBeyondBuffer() {
        byte[] b = create().tag(7, 2).rawVarint(1000).raw(bytes(1, 2, 3)).toByteArray();
        assertMalformed("length 1000 at byte 1 exceeds the remaining 3 bytes (in model)", b);
    }

    @Test
    void hostileLengthDoesNotAllocate() {
        byte[] b = create().tag(7, 2).rawVarint(1L << 62).toByteArray();
        assertMalformed(
                "length 4611686018427387904 at byte 1 exceeds the remaining 0 bytes (in model)", b);
        // The same inside a tensor: raw_data claiming 2^31 bytes.
        ProtoWriter t = tensor("w", 1, 2).tag(9, 2).rawVarint(1L << 31);
        assertMalformed(
                "length 2147483648 at byte 26 exceeds the remaining 0 bytes (in"
                    + " graph.initializer[0])",
                modelWithInitializer(t));
    }

    @Test
    void negativeLength() {
        byte[] b = create().tag(7, 2).rawVarint(-1).toByteArray();
        assertMalformed("negative length -1 at byte 1 (in model)", b);
    }

    @Test
    void truncatedFixed() {
        // Unknown field 10 of ModelProto, skipped: fixed32 (0x55) and fixed64 (0x51).
        assertMalformed("truncated fixed32 at byte 1 (in model)", bytes(0x55, 1, 2));
        assertMalformed("truncated fixed64 at byte 1 (in model)", bytes(0x51, 1, 2, 3, 4, 5, 6, 7));
        assertBadTensor(
                "truncated fixed32 at byte 26", tensor("w", 1, 1).tag(4, 5).raw(bytes(1, 2)));
    }

    @Test
    void badTags() {
        assertMalformed("unsupported wire type 3 (group) at byte 0 (in model)", bytes(0x0b));
        assertMalformed("unsupported wire type 4 (group) at byte 0 (in model)", bytes(0x0c));
        assertMalformed("invalid wire type 7 at byte 0 (in model)", bytes(0x0f));
        assertMalformed("invalid wire type 6 at byte 0 (in model)", bytes(0x0e));
        assertMalformed("invalid field number 0 at byte 0 (in model)", bytes(0x00));
    }

    @Test
    void wrongWireTypeForAField() {
        assertMalformed(
                "field graph has wire type 0, expected 2 (in model)",
                create().varint(7, 3).toByteArray());
        assertBadTensor(
                "field data_type has wire type 2, expected 0",
                create().string(2, "x").string(8, "w"));
    }

    @Test
    void invalidUtf8() {
        assertBadTensor(
                "invalid UTF-8 in tensor name at byte 20",
                create().varint(2, 1).bytes(8, bytes(0xc3, 0x28)));
    }

    // ---- graph structure ----

    @Test
    void twoGraphs() {
        byte[] b = create().message(7, create()).message(7, create()).toByteArray();
        assertMalformed("more than one graph (in model)", b);
    }

    @Test
    void sparseInitializer() {
        byte[] b = ProtoWriter.model(create().message(15, create()));
        assertMalformed("sparse initializers are not supported (in graph)", b);
    }

    @Test
    void duplicateInitializer() {
        ProtoWriter t = tensor("w", 1, 1).bytes(9, floatsLe(1));
        byte[] b = ProtoWriter.model(create().message(5, t).message(5, t));
        assertMalformed("duplicate initializer name 'w'", b);
    }

    @Test
    void renamedWeightCollidesWithNamedOne() {
        ProtoWriter g =
                create().message(1, node("/a/MatMul", "MatMul", "x", "onnx::MatMul_1"))
                        .message(5, tensor("a.weight", 1, 1, 1).bytes(9, floatsLe(1)))
                        .message(5, tensor("onnx::MatMul_1", 1, 1, 1).bytes(9, floatsLe(2)));
        assertMalformed(
                "initializers 'a.weight' and 'onnx::MatMul_1' both map to the tensor name"
                    + " 'a.weight'",
                ProtoWriter.model(g));
    }

    @Test
    void weightUsedInBothOrientations() {
        ProtoWriter g =
                create().message(1, node("/a/MatMul", "MatMul", "x", "w"))
                        .message(
                                1,
                                node("/b/Gemm", "Gemm", "x", "w")
                                        .message(5, ProtoWriter.intAttribute("transB", 1)))
                        .message(5, tensor("w", 1, 1, 1).bytes(9, floatsLe(1)));
        assertMalformed(
                "initializer 'w' is used as a weight both as [in, out] and as [out, in]",
                ProtoWriter.model(g));
    }

    // ---- tensors ----

    @Test
    void rawDataSizeMismatch() {
        assertBadTensor(
                "raw_data of tensor 'w' has 20 bytes, expected 24 (dims [2, 3] x 4 bytes of FLOAT)",
                tensor("w", 1, 2, 3).bytes(9, new byte[20]));
    }

    @Test
    void unknownAndUnsupportedDataTypes() {
        assertBadTensor(
                "tensor 'w' has unknown ONNX data type 99 (supported: " + SUPPORTED + ")",
                tensor("w", 99, 1).bytes(9, new byte[4]));
        assertBadTensor(
                "tensor 'w' has unsupported ONNX data type UINT32 (12); supported: " + SUPPORTED,
                tensor("w", 12, 1).bytes(9, new byte[4]));
        assertBadTensor(
                "tensor 'w' has unsupported ONNX data type STRING (8); supported: " + SUPPORTED,
                tensor("w", 8, 1).string(6, "a"));
        assertBadTensor("tensor 'w' has no data type", create().packedVarints(1, 1).string(8, "w"));
    }

    @Test
    void negativeDims() {
        assertBadTensor(
                "tensor 'w' has negative dimension -1 in dims [2, -1]",
                tensor("w", 1, 2, -1).bytes(9, new byte[0]));
    }

    @Test
    void dimsProductOverflow() {
        assertBadTensor(
                "tensor 'w' with dims [4294967296, 4294967296]: element count overflows",
                tensor("w", 1, 1L << 32, 1L << 32).bytes(9, new byte[0]));
        assertBadTensor(
                "tensor 'w' with dims [2147483648, 2147483648]: byte size overflows",
                tensor("w", 1, 1L << 31, 1L << 31).bytes(9, new byte[0]));
    }

    @Test
    void missingNameOrData() {
        assertBadTensor("tensor has no name", create().varint(2, 1).bytes(9, new byte[4]));
        assertBadTensor(
                "tensor 'w' has no data (neither raw_data nor a typed data field)",
                tensor("w", 1, 2));
    }

    @Test
    void externalAndSegmentedData() {
        assertBadTensor(
                "tensor 'w' stores its data externally, which is not supported",
                tensor("w", 1, 1).varint(14, 1));
        assertBadTensor(
                "tensor 'w' stores its data externally, which is not supported",
                tensor("w", 1, 1).message(13, create().string(1, "location").string(2, "w.bin")));
        assertBadTensor(
                "tensor 'w' is segmented, which is not supported",
                tensor("w", 1, 1).message(3, create().varint(1, 0).varint(2, 1)));
    }

    @Test
    void typedDataProblems() {
        assertBadTensor(
                "float_data of tensor 'w' has 2 values, expected 3 (dims [3])",
                tensor("w", 1, 3).bytes(4, floatsLe(1, 2)));
        assertBadTensor(
                "int64_data of tensor 'w' has 4 values, expected 3 (dims [3])",
                tensor("w", 7, 3).packedVarints(7, 1, 2, 3, 4));
        assertBadTensor(
                "tensor 'w' of type INT64 has float_data, expected int64_data",
                tensor("w", 7, 1).bytes(4, floatsLe(1)));
        assertBadTensor(
                "tensor 'w' has both raw_data and float_data",
                tensor("w", 1, 1).bytes(9, floatsLe(1)).bytes(4, floatsLe(1)));
        assertBadTensor(
                "tensor has both float_data and int64_data",
                tensor("w", 1, 1).bytes(4, floatsLe(1)).packedVarints(7, 1));
        assertBadTensor(
                "packed float_data has 6 bytes, not a multiple of 4",
                tensor("w", 1, 1).bytes(4, new byte[6]));
        assertBadTensor(
                "field float_data has wire type 0, expected 5", tensor("w", 1, 1).varint(4, 1));
        assertBadTensor(
                "tensor has raw_data twice",
                tensor("w", 1, 1).bytes(9, floatsLe(1)).bytes(9, floatsLe(1)));
        assertMalformed(
                "truncated varint at byte 27 (in graph.initializer[0].int64_data)",
                modelWithInitializer(tensor("w", 7, 1).bytes(7, bytes(0x80))));
    }

    @Test
    void fileOver2GiB(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("big.onnx");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(3_000_000_000L); // sparse
        }
        OnnxFormatException e =
                assertThrows(OnnxFormatException.class, () -> OnnxWeights.open(file));
        assertEquals(
                "malformed ONNX model "
                        + file
                        + ": file has 3000000000 bytes; models over 2 GiB (external data) are not"
                        + " supported",
                e.getMessage());
    }

    // ---- fuzzing: only OnnxFormatException may escape ----

    @Test
    void everyTruncationFailsCleanly() {
        byte[] model = OnnxWeightsTest.smallModel();
        for (int n = 0; n < model.length; n++) {
            byte[] prefix = Arrays.copyOf(model, n);
            try (OnnxWeights w = OnnxWeights.fromBytes(prefix, "prefix")) {
                // A prefix that ends on a field boundary after the graph is a valid model.
                assertEquals(18, w.names().size(), "prefix of " + n + " bytes");
            } catch (OnnxFormatException e) {
                // expected
            } catch (RuntimeException e) {
                fail("prefix of " + n + " bytes: " + e, e);
            }
        }
    }

    @Test
    void randomCorruptionFailsCleanly() {
        byte[] model = OnnxWeightsTest.smallModel();
        Random random = new Random(42);
        int parsed = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] b = model.clone();
            int flips = 1 + random.nextInt(3);
            for (int k = 0; k < flips; k++) {
                b[random.nextInt(b.length)] = (byte) random.nextInt(256);
            }
            try (OnnxWeights w = OnnxWeights.fromBytes(b, "fuzz")) {
                for (String name : w.names()) {
                    if (w.info(name).dtype().isFloating()) {
                        w.loadFloats(name);
                    } else {
                        w.rawBytes(name);
                    }
                }
                parsed++;
            } catch (IOException e) {
                // OnnxFormatException: expected
                assertEquals(OnnxFormatException.class, e.getClass());
            } catch (RuntimeException e) {
                fail("mutation " + i + ": " + e, e);
            }
        }
        // Some mutations hit only values or names and still parse.
        assertEquals(true, parsed > 0);
    }
}
