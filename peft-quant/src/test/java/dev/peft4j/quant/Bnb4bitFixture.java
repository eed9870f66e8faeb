package dev.peft4j.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One case of the bitsandbytes reference fixtures in {@code <shared>/fixtures/bnb-4bit/<case>}:
 * input, arguments, expected state dict and expected dequantized values. Tests skip when the
 * shared folder is absent.
 */
record Bnb4bitFixture(
        String name,
        Path dir,
        float[] input,
        long[] shape,
        QuantType quantType,
        int blocksize,
        boolean doubleQuant,
        Map<String, StateTensor> expected,
        float[] dequantized) {

    static final String KEY = "weight";

    static Bnb4bitFixture load(String name) throws IOException {
        Path dir = Fixtures.fixture("bnb-4bit", name);
        JsonNode args = new ObjectMapper().readTree(dir.resolve("args.json").toFile());
        Map<String, StateTensor> expected = new LinkedHashMap<>();
        try (SafetensorsFile in = SafetensorsFile.open(dir.resolve("input.safetensors"));
                SafetensorsFile exp = SafetensorsFile.open(dir.resolve("expected.safetensors"));
                SafetensorsFile deq =
                        SafetensorsFile.open(dir.resolve("expected_dequantized.safetensors"))) {
            for (String tensor : exp.names()) {
                expected.put(tensor, StateTensor.read(exp, tensor));
            }
            return new Bnb4bitFixture(
                    name,
                    dir,
                    in.loadFloats(KEY),
                    in.info(KEY).shape(),
                    QuantType.fromBnbName(args.get("quant_type").textValue()),
                    args.get("blocksize").intValue(),
                    args.get("double_quant").booleanValue(),
                    expected,
                    deq.loadFloats(KEY));
        }
    }
}
