package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** The options shared by {@code logits} and {@code generate}: model, adapter and prompt ids. */
final class ModelInput {

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face model directory: config.json and safetensors weights"
                    + " (llama, qwen2 or mistral).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "Adapter directory of any method, recognised from its files (PEFT's adapter_config.json"
                    + " peft_type + adapter_model.safetensors, or AdapterHub's adapter_config.json +"
                    + " adapter.safetensors), applied to the model.")
    Path adapter;

    /** A QLoRA adapter runs over the base quantized as in training. */
    @Mixin QuantizeOptions quantize;

    @Option(names = "--ids", required = true, split = ",", paramLabel = "ID",
            description = "Prompt token ids, comma-separated, e.g. 1,2,3.")
    List<Long> ids;

    /** @return the prompt ids */
    long[] promptIds() {
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Loads the model (float32, or 4-bit with {@code --quantize} or when saved quantized), checks
     * the ids and applies the adapter, if any, in place.
     *
     * @param manager owner of the weights
     * @param err where warnings go
     * @return the model, with LoRA layers when {@code --adapter} is given
     * @throws IOException when the weights cannot be read
     */
    LlamaForCausalLM load(NDManager manager, PrintWriter err) throws IOException {
        LlamaForCausalLM lm = quantize.loadLlama(model, manager);
        int vocab = lm.config().vocabSize();
        for (long id : ids) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab
                        + ") of " + model);
            }
        }
        if (adapter != null) {
            AdapterInput.load(lm, adapter, EncoderModel.names(model.toString(), HfConfig.read(model)), manager, err);
        }
        return lm;
    }
}
