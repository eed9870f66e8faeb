package dev.peft4j.quant.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.quant.QuantType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * {@link QuantizedSaver#saveModelDir}: config.json gets transformers' quantization_config, and the
 * directory loads back (settings from that entry, tensors pre-quantized) to identical logits.
 */
class QuantizedModelDirTest {

    @TempDir Path tmp;

    @Test
    void modelDirectoryRoundTrip() throws Exception {
        Path fixture = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        QuantizationConfig qc = QuantizationConfig.builder().setQuantType(QuantType.FP4)
                .optDoubleQuant(false).optSkipModules(List.of("lm_head", "mlp.down_proj")).build();
        Path out = tmp.resolve("q4");
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM q = new LlamaForCausalLM(LlamaConfig.read(fixture));
            Quantizer.quantizeModules(q, qc);
            try (TensorSource src = TensorSources.open(fixture)) {
                QuantizedLoader.builder().setSource(src).setManager(m).optIgnore(LlamaForCausalLM.IGNORED)
                        .build().load(q);
            }
            ObjectNode config = HfConfig.read(fixture).json();
            QuantizedSaver.saveModelDir(q, config, qc, out, Function.identity());
            try (Stream<Path> s = Files.list(out)) {
                assertEquals(List.of("config.json", "model.safetensors"),
                        s.map(p -> p.getFileName().toString()).sorted().toList());
            }
            JsonNode written = new ObjectMapper().readTree(out.resolve("config.json").toFile());
            JsonNode entry = written.get(HfQuantizationConfig.KEY);
            assertEquals("bitsandbytes", entry.get("quant_method").asText());
            assertEquals("fp4", entry.get("bnb_4bit_quant_type").asText());
            assertEquals(false, entry.get("bnb_4bit_use_double_quant").asBoolean());
            assertEquals("float32", entry.get("bnb_4bit_compute_dtype").asText());
            assertEquals("uint8", entry.get("bnb_4bit_quant_storage").asText());
            assertTrue(entry.get("load_in_4bit").asBoolean());
            assertEquals(false, entry.get("load_in_8bit").asBoolean());
            assertEquals(new ObjectMapper().readTree("[\"lm_head\", \"mlp.down_proj\","
                    + " \"model.layers.0.mlp.down_proj\", \"model.layers.1.mlp.down_proj\"]"),
                    entry.get("llm_int8_skip_modules"));
            QuantizationConfig read = HfQuantizationConfig.read(written, "config.json");
            ((ObjectNode) written).remove(HfQuantizationConfig.KEY);
            assertEquals(config, written);
            assertEquals(QuantType.FP4, read.quantType());
            LlamaForCausalLM back = new LlamaForCausalLM(LlamaConfig.read(out));
            assertEquals(12, Quantizer.quantizeModules(back, read).size());
            QuantizedLoadReport report;
            try (TensorSource src = TensorSources.open(out)) {
                report = QuantizedLoader.builder().setSource(src).setManager(m).build().load(back);
            }
            assertEquals(12, report.prequantized());
            ParameterStore ps = new ParameterStore(m, false);
            NDArray ids = m.create(new long[] {1, 17, 42, 99, 5}, new Shape(1, 5));
            assertArrayEquals(q.forward(ps, ids, null, null, null, false).logits().toFloatArray(),
                    back.forward(ps, ids, null, null, null, false).logits().toFloatArray());

            FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                    () -> QuantizedSaver.saveModelDir(q, config, qc, out, Function.identity()));
            assertEquals(out + ": the output directory exists and is not empty", e.getMessage());
        }
    }

    @Test
    void readRejectsOtherQuantizations() {
        ObjectMapper json = new ObjectMapper();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfQuantizationConfig.read(
                json.readTree("{\"quantization_config\": {\"quant_method\": \"gptq\", \"bits\": 4}}"), "c.json"));
        assertEquals("c.json: quantization_config.quant_method must be \"bitsandbytes\", got \"gptq\"", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HfQuantizationConfig.read(json.readTree(
                "{\"quantization_config\": {\"quant_method\": \"bitsandbytes\", \"load_in_8bit\": true}}"), "c.json"));
        assertEquals("c.json: quantization_config.load_in_4bit must be true (only 4-bit checkpoints are supported)",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HfQuantizationConfig.read(json.readTree(
                "{\"quantization_config\": {\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true,"
                        + " \"bnb_4bit_quant_type\": \"int4\"}}"), "c.json"));
        assertTrue(e.getMessage().startsWith("c.json: quantization_config.bnb_4bit_quant_type: "), e.getMessage());
    }
}
