package dev.peft4j.examples;

import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.peft.PeftModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs an adapter made by Python PEFT ({@code model.save_pretrained(dir)}: {@code
 * adapter_config.json} + {@code adapter_model.safetensors}) on its BERT-family base, prints a
 * sentence embedding before and after, merges the adapter into the weights and saves the merged
 * model as a Hugging Face directory, which embeds exactly as the adapted model.
 *
 * <pre>
 * java -cp peft-examples/target/peft4j.jar dev.peft4j.examples.PythonAdapter BASE ADAPTER [--out OUT]
 * java -cp peft-examples/target/peft4j.jar dev.peft4j.examples.PythonAdapter \
 *     builtin:all-minilm-l6-v2 ../shared/fixtures/peft-minilm-qv
 * </pre>
 */
public final class PythonAdapter {

    private static final List<String> TEXTS = List.of("This tea is wonderful.", "The box arrived crushed.");

    private PythonAdapter() {}

    /**
     * @param args {@code BASE} (a model directory or built-in id), {@code ADAPTER} (a PEFT directory)
     * @throws Exception when loading or saving fails, or the merged model embeds otherwise
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: PythonAdapter BASE ADAPTER [--out OUT]");
        }
        String given = ClassifyReviews.option(args, "--out", null);
        Path out = given != null ? Path.of(given) : Files.createTempDirectory("python-adapter").resolve("merged");
        float[][] adapted;
        try (BertModel bert = BertModel.fromPretrained(args[0])) {
            print("base   ", bert.embed(TEXTS));

            // PEFT's PeftModel.from_pretrained(model, dir): frozen, inference mode; LoRA layers go in place.
            PeftModel<BertModel> peft = PeftModel.load(bert, Path.of(args[1]));
            System.out.println("adapter: " + peft.config(PeftModel.DEFAULT_ADAPTER));
            adapted = bert.embed(TEXTS);
            print("adapted", adapted);

            // merge_and_unload(): W + scale * B A in place, adapter layers gone; then a plain HF directory.
            peft.mergeAndUnload().savePretrained(out);
        }
        try (BertModel merged = BertModel.fromPretrained(out.toString())) {
            float[][] again = merged.embed(TEXTS);
            print("merged ", again);
            double maxDiff = 0;
            for (int t = 0; t < again.length; t++) {
                for (int i = 0; i < again[t].length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(again[t][i] - adapted[t][i]));
                }
            }
            if (maxDiff > 1e-4) {
                throw new IllegalStateException("merged model embeds otherwise: max difference " + maxDiff);
            }
            System.out.printf("merged model saved to %s; max difference to the adapted model %.1e%n", out, maxDiff);
        }
    }

    /** The first four dimensions of each text's mean-pooled embedding. */
    private static void print(String what, float[][] vectors) {
        for (int t = 0; t < vectors.length; t++) {
            System.out.printf("%s \"%s\": [%.4f, %.4f, %.4f, %.4f, ...]%n", what, TEXTS.get(t),
                    vectors[t][0], vectors[t][1], vectors[t][2], vectors[t][3]);
        }
    }
}
