package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code peft4j logits --model DIR --ids 1,2,3}: prints the logits at the last position as a JSON
 * array.
 */
@Command(
        name = "logits",
        mixinStandardHelpOptions = true,
        description = "Run a causal language model (llama, qwen2, mistral) on token ids and print the"
                + " logits of the last position as a JSON array.")
final class LogitsCommand extends CliCommand {

    @Mixin ModelInput input;

    @Override
    int run() throws Exception {
        long[] ids = input.promptIds();
        float[] logits;
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = input.load(manager, spec.commandLine().getErr());
            NDArray last = lm.forward(new ParameterStore(manager, false),
                    manager.create(ids, new Shape(1, ids.length)), null, null, null, false, 1).logits();
            logits = last.toType(DataType.FLOAT32, false).toFloatArray();
        }
        out().println(new ObjectMapper().writeValueAsString(logits));
        out().flush();
        return 0;
    }
}
