package dev.peft4j.tuners.bitfit;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.merge.MergeReport;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.model.random.ModelShape;
import dev.peft4j.core.model.random.RandomCheckpoint;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.tuners.StreamingMergeFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The streaming merge of a BitFit adapter ({@link BitFitMergeRule}) equals the in-memory {@code mergeAndUnload}. */
class BitFitStreamingMergeTest {

    @TempDir Path tmp;

    @Test
    void trainedBiasesReplaceTheBases() throws Exception {
        Path model = tmp.resolve("qwen");
        RandomCheckpoint.builder().setShape(ModelShape.builder().setModelType("qwen2").setHiddenSize(64)
                .setNumLayers(2).setNumHeads(4).setNumKeyValueHeads(2).setIntermediateSize(128).setVocabSize(200)
                .build()).optSeed(2).optShardBytes(60_000).build().write(model);
        Path adapter = tmp.resolve("bitfit");
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(LlamaForCausalLM.load(model, m),
                    BitFitConfig.builder().build(), m, 1);
            Random random = new Random(8);
            for (Map.Entry<String, Parameter> e : peft.baseModel().namedParameters().entrySet()) {
                if (e.getKey().endsWith(".bias")) {
                    Shape s = e.getValue().getArray().getShape();
                    float[] v = new float[(int) s.size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) random.nextGaussian();
                    }
                    Params.assign(e.getValue(), m.create(v, s));
                }
            }
            peft.save(adapter);
        }
        Map<String, float[]> want = new HashMap<>();
        want.putAll(StreamingMergeFixture.inMemoryMerge(model, adapter));
        MergeReport r = StreamingMergeFixture.streamF32(model, adapter, tmp.resolve("out"));
        assertEquals(6, r.merged(), "q, k, v biases of 2 layers");
        try (TensorSource s = TensorSources.open(r.target())) {
            for (String n : s.names()) {
                assertArrayEquals(want.get(n), s.loadFloats(n), n);
            }
            assertEquals(want.size(), s.names().size());
        }
    }
}
