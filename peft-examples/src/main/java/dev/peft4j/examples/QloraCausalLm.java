package dev.peft4j.examples;

import dev.peft4j.core.data.PromptCompletion;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.GenerationResult;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.QuantizedLinear;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLoader;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * QLoRA on a causal LM (Llama, Qwen2, Mistral family): the base's linear layers are quantized to
 * NF4 while the checkpoint loads, LoRA goes on {@code q_proj}/{@code v_proj}, a few steps train on
 * in-memory prompt/completion pairs, the model generates, and the adapter is merged into the
 * dequantized base (float32) and saved as a plain Hugging Face directory.
 *
 * <pre>
 * java -cp peft-examples/target/peft4j.jar dev.peft4j.examples.QloraCausalLm DIR [--steps 40] [--out OUT]
 * </pre>
 *
 * With {@code tokenizer.json} in {@code DIR} the pairs are text; without one (such as the tiny test
 * checkpoints) they are token ids: counting on from three numbers ({@code 1 20 21 22 -> 23 24 25 2}).
 */
public final class QloraCausalLm {

    private QloraCausalLm() {}

    /**
     * @param args {@code DIR} then the options above
     * @throws Exception when loading, training or saving fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: QloraCausalLm DIR [--steps N] [--out OUT]");
        }
        int steps = Integer.parseInt(ClassifyReviews.option(args, "--steps", "40"));
        String given = ClassifyReviews.option(args, "--out", null);
        Path out = given != null ? Path.of(given) : Files.createTempDirectory("qlora-causal-lm").resolve("merged");

        // 1. NF4 on load: each linear layer (lm_head excepted) is quantized as its weight streams in.
        QuantizationConfig nf4 = QuantizationConfig.builder().setQuantType(QuantType.NF4).build();
        PretrainedOptions options = PretrainedOptions.builder()
                .optWeightLoader(QuantizedLoader.quantizing(nf4)).build();
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(args[0], options)) {
            long fourBit = lm.namedModules().values().stream().filter(m -> m instanceof QuantizedLinear).count();
            System.out.println("4-bit linear layers: " + fourBit);

            // 2. LoRA on the attention's query and value projections, over the 4-bit weights.
            LoraConfig lora = LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(8)
                    .optTaskType("CAUSAL_LM").build();
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, lora);
            peft.printTrainableParameters();

            // 3. A few steps on in-memory pairs; loss only on the completions.
            boolean text = lm.tokenizer().isPresent();
            List<?> pairs = text ? textPairs() : idPairs();
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(pairs)
                    .optArguments(TrainingArguments.builder().optMaxSteps(steps).optBatchSize(4)
                            .optLearningRate(1e-2).optMaxLength(64).build())
                    .build();
            double before = tuner.evaluate(pairs).loss();
            tuner.fit();
            System.out.printf("training loss on the pairs: %.3f before, %.3f after %d steps%n",
                    before, tuner.evaluate(pairs).loss(), steps);

            // 4. Generate (greedy, a batch of prompts at once), then merge into the dequantized base and save.
            GenerationConfig greedy = GenerationConfig.builder().setMaxNewTokens(8).build();
            if (text) {
                List<String> prompts = List.of("Q: What colour is the sky? A:", "Q: What do cows drink? A:");
                System.out.println("generated: " + lm.generate(prompts, greedy));
            } else {
                for (GenerationResult r : lm.generateIds(List.of(new long[] {1, 40, 41, 42}), greedy)) {
                    System.out.println("generated after [1, 40, 41, 42]: " + Arrays.toString(r.tokens()));
                }
            }
            LlamaForCausalLM merged = peft.mergeAndUnloadDense();
            merged.savePretrained(out);
            System.out.println("merged float32 model saved to " + out);
        }
    }

    /** Question/answer pairs for a model with a tokenizer. */
    private static List<PromptCompletion> textPairs() {
        return List.of(new PromptCompletion("Q: What colour is the sky? A:", " Blue."),
                new PromptCompletion("Q: What colour is grass? A:", " Green."),
                new PromptCompletion("Q: What do cows drink? A:", " Water."),
                new PromptCompletion("Q: What do bees make? A:", " Honey."));
    }

    /** Pre-tokenized pairs ({@code input_ids}, loss after {@code prompt_len}) for a model without a tokenizer. */
    private static List<Map<String, Object>> idPairs() {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (long k = 3; k < 100; k += 3) {
            rows.add(Map.of("input_ids", List.of(1L, k, k + 1, k + 2, k + 3, k + 4, k + 5, 2L), "prompt_len", 4));
        }
        return rows;
    }
}
