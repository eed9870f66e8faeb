package dev.peft4j.quant;

import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writing and reading transformers' 4-bit keys, and the errors for malformed entries. */
class QuantStateDictTest {

    private static final String KEY = "model.layers.0.mlp.down_proj.weight";

    private static QuantizedTensor sample(QuantType type, boolean doubleQuant) {
        float[] x = new float[5 * 11];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i * 0.7) * (1 + i % 5);
        }
        return BlockwiseQuantizer.builder()
                .setQuantType(type)
                .optBlocksize(32)
                .optDoubleQuant(doubleQuant)
                .optDtype("float16")
                .build()
                .quantize(x, 5, 11);
    }

    @Test
    void writesTransformersKeysInOrder() {
        Map<String, StateTensor> nested = QuantStateDict.toStateDict(KEY, sample(QuantType.NF4, true));
        assertEquals(
                List.of(KEY, KEY + ".absmax", KEY + ".quant_map", KEY + ".nested_absmax",
                        KEY + ".nested_quant_map", KEY + ".quant_state.bitsandbytes__nf4"),
                List.copyOf(nested.keySet()));
        assertEquals(DType.U8, nested.get(KEY).dtype());
        assertArrayEquals(new long[] {28, 1}, nested.get(KEY).shape());
        assertEquals(DType.U8, nested.get(KEY + ".absmax").dtype());
        assertArrayEquals(new long[] {2}, nested.get(KEY + ".absmax").shape());
        assertArrayEquals(new long[] {1}, nested.get(KEY + ".nested_absmax").shape());

        Map<String, StateTensor> plain = QuantStateDict.toStateDict(KEY, sample(QuantType.FP4, false));
        assertEquals(
                List.of(KEY, KEY + ".absmax", KEY + ".quant_map", KEY + ".quant_state.bitsandbytes__fp4"),
                List.copyOf(plain.keySet()));
        assertEquals(DType.F32, plain.get(KEY + ".absmax").dtype());
        assertArrayEquals(QuantType.FP4.code(), plain.get(KEY + ".quant_map").toFloats());
    }

    @Test
    void writesJsonAsPythonDoes() {
        QuantizedTensor q = sample(QuantType.NF4, true);
        String json = new String(
                QuantStateDict.toStateDict(KEY, q).get(KEY + ".quant_state.bitsandbytes__nf4").data(),
                StandardCharsets.UTF_8);
        String offset = PythonFloatRepr.repr(q.state().nested().orElseThrow().offset());
        assertEquals(
                "{\"quant_type\": \"nf4\", \"blocksize\": 32, \"dtype\": \"float16\", \"shape\": [5, 11],"
                        + " \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": "
                        + offset + "}",
                json);
        String plain = new String(
                QuantStateDict.toStateDict("w", sample(QuantType.FP4, false))
                        .get("w.quant_state.bitsandbytes__fp4").data(),
                StandardCharsets.UTF_8);
        assertEquals(
                "{\"quant_type\": \"fp4\", \"blocksize\": 32, \"dtype\": \"float16\", \"shape\": [5, 11]}",
                plain);
    }

    @Test
    void roundTripsThroughMapAndSafetensorsFile(@TempDir Path dir) throws IOException {
        for (QuantType type : QuantType.values()) {
            for (boolean dq : new boolean[] {false, true}) {
                QuantizedTensor q = sample(type, dq);
                assertEquals(q, QuantStateDict.fromStateDict(KEY, QuantStateDict.toStateDict(KEY, q)));

                Path file = dir.resolve(type + "-" + dq + ".safetensors");
                SafetensorsWriter writer = SafetensorsWriter.create();
                writer.add("other.weight", DType.F32, new long[] {1}, ByteBuffer.allocate(4));
                writer.add(KEY + ".other", DType.F32, new long[] {1}, ByteBuffer.allocate(4));
                QuantStateDict.addTo(writer, KEY, q).write(file);
                try (SafetensorsFile source = SafetensorsFile.open(file)) {
                    assertEquals(q, QuantStateDict.read(KEY, source));
                    assertTrue(QuantStateDict.isQuantized(KEY, source.names()));
                    assertFalse(QuantStateDict.isQuantized("other.weight", source.names()));
                    assertEquals(QuantStateDict.toStateDict(KEY, q).get(KEY), StateTensor.read(source, KEY));
                }
            }
        }
    }

    private static Map<String, StateTensor> dict(boolean dq) {
        return new LinkedHashMap<>(QuantStateDict.toStateDict(KEY, sample(QuantType.NF4, dq)));
    }

    private static void assertRejected(Map<String, StateTensor> dict, String... fragments) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> QuantStateDict.fromStateDict(KEY, dict));
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' lacks " + fragment);
        }
    }

    private static StateTensor json(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return StateTensor.ofBytes(new long[] {b.length}, b);
    }

    @Test
    void missingKeysAreNamed() {
        for (String suffix : new String[] {"", ".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map"}) {
            Map<String, StateTensor> d = dict(true);
            d.remove(KEY + suffix);
            assertRejected(d, KEY + suffix);
        }
        Map<String, StateTensor> noState = dict(false);
        noState.remove(KEY + ".quant_state.bitsandbytes__nf4");
        assertRejected(noState, "missing key " + KEY + ".quant_state.bitsandbytes__nf4");
    }

    @Test
    void wrongSizesAndTypesAreNamed() {
        Map<String, StateTensor> shortPacked = dict(false);
        shortPacked.put(KEY, StateTensor.ofBytes(new long[] {27, 1}, new byte[27]));
        assertRejected(shortPacked, KEY + ":", "28");

        Map<String, StateTensor> absmax = dict(false);
        absmax.put(KEY + ".absmax", StateTensor.ofFloats(new long[] {3}, new float[] {1, 1, 1}));
        assertRejected(absmax, KEY + ".absmax", "2 elements");

        Map<String, StateTensor> u8Absmax = dict(true);
        u8Absmax.put(KEY + ".absmax", StateTensor.ofFloats(new long[] {2}, new float[] {1, 1}));
        assertRejected(u8Absmax, KEY + ".absmax", "U8");

        Map<String, StateTensor> map = dict(false);
        map.put(KEY + ".quant_map", StateTensor.ofFloats(new long[] {16}, QuantType.FP4.code()));
        assertRejected(map, KEY + ".quant_map", "nf4");

        Map<String, StateTensor> nestedMap = dict(true);
        nestedMap.put(KEY + ".nested_quant_map", StateTensor.ofFloats(new long[] {255}, new float[255]));
        assertRejected(nestedMap, KEY + ".nested_quant_map", "256");
    }

    @Test
    void unknownOrInconsistentQuantTypesAreNamed() {
        Map<String, StateTensor> int4Key = dict(false);
        int4Key.put(KEY + ".quant_state.bitsandbytes__int4",
                int4Key.remove(KEY + ".quant_state.bitsandbytes__nf4"));
        assertRejected(int4Key, KEY + ".quant_state.bitsandbytes__int4", "int4");

        String stateKey = KEY + ".quant_state.bitsandbytes__nf4";
        Map<String, StateTensor> int4Json = dict(false);
        int4Json.put(stateKey, json(
                "{\"quant_type\": \"int4\", \"blocksize\": 32, \"dtype\": \"float16\", \"shape\": [5, 11]}"));
        assertRejected(int4Json, stateKey, "int4");

        Map<String, StateTensor> fp4Json = dict(false);
        fp4Json.put(stateKey, json(
                "{\"quant_type\": \"fp4\", \"blocksize\": 32, \"dtype\": \"float16\", \"shape\": [5, 11]}"));
        assertRejected(fp4Json, stateKey, "does not match");
    }

    @Test
    void malformedJsonIsNamed() {
        String stateKey = KEY + ".quant_state.bitsandbytes__nf4";
        String[][] cases = {
            {"not json", "JSON"},
            {"{\"quant_type\": \"nf4\", \"dtype\": \"float16\", \"shape\": [5, 11]}", "blocksize"},
            {"{\"quant_type\": \"nf4\", \"blocksize\": 48, \"dtype\": \"float16\", \"shape\": [5, 11]}", "48"},
            {"{\"quant_type\": \"nf4\", \"blocksize\": 32, \"dtype\": \"int8\", \"shape\": [5, 11]}", "int8"},
            {"{\"quant_type\": \"nf4\", \"blocksize\": 32, \"dtype\": \"float16\", \"shape\": \"5x11\"}", "shape"},
        };
        for (String[] c : cases) {
            Map<String, StateTensor> d = dict(false);
            d.put(stateKey, json(c[0]));
            assertRejected(d, stateKey, c[1]);
        }
        Map<String, StateTensor> noOffset = dict(true);
        noOffset.put(stateKey, json(
                "{\"quant_type\": \"nf4\", \"blocksize\": 32, \"dtype\": \"float16\", \"shape\": [5, 11]}"));
        assertRejected(noOffset, stateKey, "nested_offset");
    }
}
