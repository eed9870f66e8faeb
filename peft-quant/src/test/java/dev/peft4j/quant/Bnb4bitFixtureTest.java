package dev.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.SafetensorsFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.Map;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Quantization and dequantization against bitsandbytes' reference output, one test per case:
 * every stored byte identical (packed codes, absmax, code tables, nested data, even the JSON
 * blob), dequantized values identical.
 */
class Bnb4bitFixtureTest {

    @ParameterizedTest
    @ValueSource(
            strings = {"nf4_dq_64x128", "fp4_dq_40x64", "nf4_dq_odd_5x11", "nf4_nodq_b128_32x200"})
    void matchesBitsandbytes(String name) throws IOException {
        Bnb4bitFixture f = Bnb4bitFixture.load(name);
        QuantizedTensor q =
                BlockwiseQuantizer.quantize(
                        f.input(), f.shape(), f.quantType(), f.blocksize(), f.doubleQuant());

        Map<String, StateTensor> actual = QuantStateDict.toStateDict(Bnb4bitFixture.KEY, q);
        assertEquals(f.expected().keySet(), actual.keySet(), name + ": keys");
        for (String key : f.expected().keySet()) {
            StateTensor want = f.expected().get(key);
            StateTensor got = actual.get(key);
            assertEquals(want.dtype(), got.dtype(), key + " dtype");
            assertArrayEquals(want.shape(), got.shape(), key + " shape");
            if (key.contains(".quant_state.")) {
                // Same content (key set and values) ...
                ObjectMapper json = new ObjectMapper();
                assertEquals(json.readTree(want.data()), json.readTree(got.data()), key);
            }
            // ... and, like every other entry, the same bytes.
            assertArrayEquals(want.data(), got.data(), key + " bytes");
        }

        float[] javaValues = BlockwiseDequantizer.dequantize(q);
        assertArrayEquals(f.dequantized(), javaValues, name + ": dequantized");
        assertTrue(maxAbsDiff(f.dequantized(), javaValues) <= 1e-6f);

        QuantizedTensor parsed;
        try (SafetensorsFile file = SafetensorsFile.open(f.dir().resolve("expected.safetensors"))) {
            parsed = QuantStateDict.read(Bnb4bitFixture.KEY, file);
        }
        assertEquals(q, parsed, name + ": parsed reference state equals ours");
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray device = NDArrayDequantizer.dequantize(parsed, manager);
            assertArrayEquals(f.shape(), device.getShape().getShape(), "NDArray shape");
            assertArrayEquals(f.dequantized(), device.toFloatArray(), name + ": NDArray path");
        }
    }

}
