package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.merge.MergeReport;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.model.random.ModelShape;
import dev.peft4j.core.model.random.RandomCheckpoint;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.tuners.StreamingMergeFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The streaming merge of an IA³ adapter ({@link Ia3MergeRule}) equals the in-memory {@code
 * mergeAndUnload} bit for bit: output rows scaled (with Qwen2's k/v biases) and a feed-forward
 * layer's input columns scaled, on a sharded random Qwen2 checkpoint.
 */
class Ia3StreamingMergeTest {

    @TempDir Path tmp;

    @Test
    void streamedEqualsInMemoryWithBiasesAndFeedforward() throws Exception {
        Path model = tmp.resolve("qwen");
        RandomCheckpoint.builder().setShape(ModelShape.builder().setModelType("qwen2").setHiddenSize(128)
                .setNumLayers(2).setNumHeads(4).setNumKeyValueHeads(2).setIntermediateSize(256).setVocabSize(300)
                .build()).optSeed(9).optShardBytes(150_000).build().write(model);
        Ia3Config config = Ia3Config.builder().setTargetModules("k_proj", "v_proj", "down_proj")
                .setFeedforwardModules("down_proj").optInitIa3Weights(false).build();
        Path adapter = tmp.resolve("ia3");
        Map<String, float[]> want = new HashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(LlamaForCausalLM.load(model, m), config, m, 3);
            peft.save(adapter);
        }
        want.putAll(StreamingMergeFixture.inMemoryMerge(model, adapter));
        MergeReport r = StreamingMergeFixture.streamF32(model, adapter, tmp.resolve("out"));
        assertEquals(10, r.merged(), "2 layers x (k, v, down_proj weights + k, v biases)");
        try (TensorSource s = TensorSources.open(r.target())) {
            for (String n : s.names()) {
                assertEquals(DType.F32, s.info(n).dtype(), n);
                assertArrayEquals(want.get(n), s.loadFloats(n), n);
            }
            assertEquals(want.size(), s.names().size());
        }
    }
}
