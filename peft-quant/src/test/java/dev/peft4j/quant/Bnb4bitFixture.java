package dev.peft4j.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One case of the bitsandbytes reference fixtures in {@code <shared>/fixtures/bnb-4bit/<case>}:
 * input, arguments, expected state dict and expected dequantized values. Tests skip when the
 * shared folder is absent.
 */
record Bnb4bitFixture(
        String name,
        float[] input,
        long[] shape,
        QuantType quantType,
        int blocksize,
        boolean doubleQuant,
        Map<String, StateTensor> expected,
        float[] dequantized) {

    static final String KEY = "weight";

    static Path root() {
        String shared = System.getProperty("peft4j.shared", "../../shared");
        Path dir = Path.of(shared, "fixtures", "bnb-4bit");
        assumeTrue(Files.isDirectory(dir), "shared fixtures not found at " + dir.toAbsolutePath());
        return dir;
    }

    static Bnb4bitFixture load(String name) throws IOException {
        Path dir = root().resolve(name);
        assumeTrue(Files.isDirectory(dir), "fixture case not found at " + dir.toAbsolutePath());
        JsonNode args = new ObjectMapper().readTree(dir.resolve("args.json").toFile());
        StateTensor input = TestSafetensors.read(dir.resolve("input.safetensors")).get(KEY);
        return new Bnb4bitFixture(
                name,
                input.toFloats(),
                input.shape(),
                QuantType.fromBnbName(args.get("quant_type").textValue()),
                args.get("blocksize").intValue(),
                args.get("double_quant").booleanValue(),
                TestSafetensors.read(dir.resolve("expected.safetensors")),
                TestSafetensors.read(dir.resolve("expected_dequantized.safetensors"))
                        .get(KEY)
                        .toFloats());
    }
}
