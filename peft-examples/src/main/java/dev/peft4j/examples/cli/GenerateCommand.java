package dev.peft4j.examples.cli;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.GenerationResult;
import dev.peft4j.core.model.llama.Generator;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code peft4j generate --model DIR --ids 1,2,3 --max-new-tokens N}: generates tokens greedily or
 * by sampling and prints the new ids as a JSON array, then their text when the model directory
 * has a {@code tokenizer.json}.
 */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = {
            "Generate tokens after a prompt with a causal language model (llama, qwen2, mistral).",
            "Prints the generated ids as a JSON array on one line, then the decoded text when the"
                    + " model directory has a tokenizer.json. Stops at the model's eos_token_id."
        })
final class GenerateCommand extends CliCommand {

    @Mixin ModelInput input;

    @Option(names = "--max-new-tokens", required = true, paramLabel = "N",
            description = "The most tokens to generate.")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "Sampling temperature; 0 (default) for greedy decoding.")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0",
            description = "Sample among the K most likely tokens; 0 (default) for all.")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1",
            description = "Nucleus sampling: the smallest set of tokens with probability P; 1 (default) for all.")
    float topP;

    @Option(names = "--seed", paramLabel = "S", description = "Seed for reproducible sampling.")
    Long seed;

    @Override
    int run() throws Exception {
        GenerationConfig.Builder b = GenerationConfig.builder()
                .setMaxNewTokens(maxNewTokens)
                .optTemperature(temperature)
                .optTopK(topK)
                .optTopP(topP);
        if (seed != null) {
            b.optSeed(seed);
        }
        GenerationConfig config = b.build();
        GenerationResult result;
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = input.load(manager, spec.commandLine().getErr());
            result = new Generator(lm).generate(manager, input.promptIds(), config);
        }
        long[] tokens = result.tokens();
        out().println(new ObjectMapper().writeValueAsString(tokens));
        Path tokenizerFile = input.model.resolve("tokenizer.json");
        if (Files.isRegularFile(tokenizerFile)) {
            try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile)) {
                out().println(tokenizer.decode(tokens));
            }
        }
        out().flush();
        return 0;
    }
}
