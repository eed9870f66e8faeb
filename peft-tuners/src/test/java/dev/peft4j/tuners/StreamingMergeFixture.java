package dev.peft4j.tuners;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.merge.MergeReport;
import dev.peft4j.core.merge.OutputDtype;
import dev.peft4j.core.merge.StreamingMerge;
import dev.peft4j.core.merge.TensorMergeProviders;
import dev.peft4j.core.merge.TensorMergeRule;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftModel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The two sides the streaming-merge tests of the tuners compare: the in-memory merge and the stream. */
public final class StreamingMergeFixture {

    private StreamingMergeFixture() {}

    /** @return every parameter of {@code mergeAndUnload()} of the adapter over the Llama model, in float32 */
    public static Map<String, float[]> inMemoryMerge(Path model, Path adapter) throws IOException {
        Map<String, float[]> want = new HashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            Module merged = PeftModel.load(LlamaForCausalLM.load(model, m), adapter, m).mergeAndUnload();
            merged.namedParameters().forEach((n, p) -> want.put(n, p.getArray().toType(DataType.FLOAT32, false)
                    .toFloatArray()));
        }
        return want;
    }

    /** @return the report of the float32 streaming merge of the adapter over the model into {@code out} */
    public static MergeReport streamF32(Path model, Path adapter, Path out) throws IOException {
        try (TensorMergeRule rule = TensorMergeProviders.open(adapter)) {
            return StreamingMerge.builder().setBase(model).setRule(rule).optDtype(OutputDtype.F32).build().write(out);
        }
    }
}
