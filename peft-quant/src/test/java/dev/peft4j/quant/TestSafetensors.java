package dev.peft4j.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * TEST-ONLY minimal safetensors parser (8-byte little-endian header length, JSON header, raw
 * bytes), until {@code dev.peft4j.core.io.SafetensorsFile} is available on this branch.
 */
final class TestSafetensors {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private TestSafetensors() {}

    static Map<String, StateTensor> read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        int dataStart = Math.toIntExact(8 + headerLen);
        JsonNode header =
                MAPPER.readTree(new String(all, 8, (int) headerLen, StandardCharsets.UTF_8));
        Map<String, StateTensor> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.get("shape").get(i).longValue();
            }
            int begin = t.get("data_offsets").get(0).intValue();
            int end = t.get("data_offsets").get(1).intValue();
            out.put(
                    e.getKey(),
                    new StateTensor(
                            DType.fromSafetensors(t.get("dtype").textValue()),
                            shape,
                            Arrays.copyOfRange(all, dataStart + begin, dataStart + end)));
        }
        return out;
    }
}
