package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** The options shared by {@code logits} and {@code generate}: model, adapter and prompt ids. */
final class ModelInput {

    /** Exit code and message when {@code --adapter} is given before LoRA support exists. */
    static final int ADAPTER_EXIT = 2;

    static final String ADAPTER_MESSAGE = "--adapter needs LoRA support, which arrives with the LoRA issue";

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face model directory: config.json and safetensors weights"
                    + " (llama, qwen2 or mistral).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "LoRA adapter directory (not supported yet).")
    Path adapter;

    @Option(names = "--ids", required = true, split = ",", paramLabel = "ID",
            description = "Prompt token ids, comma-separated, e.g. 1,2,3.")
    List<Long> ids;

    /**
     * Rejects options that are not supported yet.
     *
     * @param err where the message goes
     * @return true when the command may run
     */
    boolean supported(PrintWriter err) {
        if (adapter != null) {
            err.println("error: " + ADAPTER_MESSAGE);
            err.flush();
            return false;
        }
        return true;
    }

    /** @return the prompt ids */
    long[] promptIds() {
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Loads the model (float32 on CPU, the manager's device otherwise) and checks the ids.
     *
     * @param manager owner of the weights
     * @return the model
     * @throws IOException when the weights cannot be read
     */
    LlamaForCausalLM load(NDManager manager) throws IOException {
        LlamaForCausalLM lm = LlamaForCausalLM.load(model, manager);
        int vocab = lm.config().vocabSize();
        for (long id : ids) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab
                        + ") of " + model);
            }
        }
        return lm;
    }
}
