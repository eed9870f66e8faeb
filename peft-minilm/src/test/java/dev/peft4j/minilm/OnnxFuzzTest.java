package dev.peft4j.minilm;

import static dev.peft4j.minilm.ProtoWriter.create;
import static dev.peft4j.minilm.ProtoWriter.modelWithInitializer;
import static dev.peft4j.minilm.ProtoWriter.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.testing.Mutator;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * Fuzzes {@link OnnxWeights#fromBytes} with mutations of a small valid model (bit flips,
 * overwritten bytes, truncation, splices) and with generated initializers of every data type with
 * extreme dims: each either parses and loads every tensor (as an NDArray of the declared shape and
 * as floats where floating) or fails with an {@link OnnxFormatException}; nothing else escapes.
 */
class OnnxFuzzTest {

    static final long SEED = 0x0ee5L;
    static final int MUTATED = 2000;
    static final int GENERATED = 400;

    /** ONNX data types: the supported ones and a few unsupported or unknown ones. */
    private static final int[] DATA_TYPES = {1, 2, 3, 5, 6, 7, 9, 10, 11, 16, 4, 12, 13, 8, 0, 99};

    @Test
    void mutatedModelsLoadOrFailWithOnnxFormatException() {
        byte[] model = OnnxWeightsTest.smallModel();
        Mutator m = new Mutator(SEED);
        Map<String, Integer> counts = new TreeMap<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int i = 0; i < MUTATED; i++) {
                byte[] b;
                String what;
                switch (i % 4) {
                    case 0:
                        b = m.flipBits(model, 0, model.length);
                        what = "bit flips";
                        break;
                    case 1:
                        b = m.overwriteBytes(model, 0, model.length);
                        what = "overwritten bytes";
                        break;
                    case 2:
                        b = m.splice(model);
                        what = "splice";
                        break;
                    default:
                        b = m.truncate(model);
                        what = "truncation";
                }
                check(b, manager, "seed " + SEED + " mutation " + i + " (" + what + ")", counts);
            }
            for (int i = 0; i < GENERATED; i++) {
                int type = DATA_TYPES[m.nextInt(DATA_TYPES.length)];
                long[] dims = new long[m.nextInt(4)];
                for (int d = 0; d < dims.length; d++) {
                    dims[d] = m.random().nextBoolean() ? m.nextInt(3) : m.interestingLong();
                }
                ProtoWriter t = tensor("w", type, dims);
                int data = m.nextInt(3);
                if (data == 0) {
                    t.bytes(9, new byte[m.nextInt(17)]);
                } else if (data == 1) {
                    t.packedVarints(5 + m.nextInt(3), new long[m.nextInt(5)]);
                }
                check(
                        modelWithInitializer(t),
                        manager,
                        "seed " + SEED + " generated " + i + " (type " + type + ", dims "
                                + java.util.Arrays.toString(dims) + ")",
                        counts);
            }
        }
        int total = MUTATED + GENERATED;
        System.out.printf(
                "onnx fuzz: %d models (seed %#x, %d mutated, %d generated): %d loaded, %d"
                        + " rejected with OnnxFormatException, 0 other outcomes%n",
                total, SEED, MUTATED, GENERATED, counts.getOrDefault("loaded", 0),
                counts.getOrDefault("rejected", 0));
        assertEquals(total, counts.get("loaded") + counts.get("rejected"));
        assertTrue(counts.get("loaded") > total / 20, counts.toString());
        assertTrue(counts.get("rejected") > total / 3, counts.toString());
    }

    /** Found by this fuzz test: empty tensors with huge dims reached the engine. */
    @Test
    void emptyTensorWithOverflowingDimsIsRejected() {
        OnnxFormatException e =
                org.junit.jupiter.api.Assertions.assertThrows(
                        OnnxFormatException.class,
                        () ->
                                OnnxWeights.fromBytes(
                                        modelWithInitializer(
                                                tensor("w", 1, 0, 1L << 62, 1L << 62)
                                                        .bytes(9, new byte[0])),
                                        "m.onnx"));
        assertEquals(
                "malformed ONNX model m.onnx: tensor 'w' with dims [0, 4611686018427387904,"
                        + " 4611686018427387904]: dims overflow (even with zeros counted as 1)"
                        + " (in graph.initializer[0])",
                e.getMessage());
    }

    private static void check(
            byte[] model, NDManager manager, String where, Map<String, Integer> counts) {
        try (OnnxWeights w = OnnxWeights.fromBytes(model, "fuzz.onnx");
                NDManager sub = manager.newSubManager()) {
            for (String name : w.names()) {
                TensorInfo info = w.info(name);
                NDArray a = w.load(name, sub);
                assertArrayEquals(info.shape(), a.getShape().getShape(), where + ": " + name);
                assertEquals(info.dtype().djlType(), a.getDataType(), where + ": " + name);
                assertEquals(info.byteSize(), w.rawBytes(name).remaining(), where + ": " + name);
                if (info.dtype().isFloating()) {
                    float[] f = w.loadFloats(name);
                    assertEquals(info.numel(), f.length, where + ": " + name);
                }
            }
            counts.merge("loaded", 1, Integer::sum);
        } catch (OnnxFormatException e) {
            assertTrue(e.getMessage().startsWith("malformed ONNX model fuzz.onnx: "), where);
            counts.merge("rejected", 1, Integer::sum);
        } catch (Throwable e) { // NOPMD: anything else is the bug being looked for
            fail(where + ": " + e, e);
        }
    }
}
