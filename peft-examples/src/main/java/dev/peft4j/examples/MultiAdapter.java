package dev.peft4j.examples;

import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraInit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Several adapters on one frozen base, as in PEFT: add them, switch the active one ({@code
 * setAdapter}), run the plain base inside a {@code disableAdapters()} scope, delete one, save the
 * others (the first in {@code OUT}, each further one in {@code OUT/<name>}) and load them back.
 *
 * <pre>
 * java -cp peft-examples/target/peft4j.jar dev.peft4j.examples.MultiAdapter [--out OUT]
 * </pre>
 *
 * The adapters are untrained but randomly initialized ({@code init_lora_weights=false}) so that
 * each changes the embedding visibly.
 */
public final class MultiAdapter {

    private static final String MODEL = "builtin:all-minilm-l6-v2";
    private static final List<String> TEXT = List.of("A cup of strong black coffee.");

    private MultiAdapter() {}

    /**
     * @param args {@code --out OUT}, optional (default: a new temporary directory)
     * @throws Exception when loading or saving fails, or an adapter computes what it should not
     */
    public static void main(String[] args) throws Exception {
        String given = ClassifyReviews.option(args, "--out", null);
        Path out = given != null ? Path.of(given) : Files.createTempDirectory("multi-adapter").resolve("adapters");
        float[] attention;
        try (BertModel bert = BertModel.fromPretrained(MODEL)) {
            float[] base = bert.embed(TEXT)[0];
            LoraConfig.Builder lora = LoraConfig.builder().optR(4).optInitLoraWeights(LoraInit.RANDOM);

            // "default" on query/value, two more by name; the first one added is active.
            PeftModel<BertModel> peft = PeftModel.wrap(bert, lora.setTargetModules("query", "value").build());
            peft.addAdapter("ffn", lora.setTargetModules("intermediate.dense", "output.dense").build());
            peft.addAdapter("scratch", lora.setTargetModules("key").build());
            System.out.println("adapters " + peft.adapterNames() + ", active: " + peft.activeAdapter());
            attention = bert.embed(TEXT)[0];
            show("default (query, value)", attention, base);

            peft.setAdapter("ffn");
            show("ffn (dense layers)", bert.embed(TEXT)[0], base);

            try (PeftModel<BertModel>.AdaptersDisabled off = peft.disableAdapters()) {
                show("adapters disabled", bert.embed(TEXT)[0], base);   // the plain base: distance 0
            }

            peft.deleteAdapter("scratch");
            peft.save(out);   // default -> OUT, ffn -> OUT/ffn
            System.out.println("saved " + peft.adapterNames() + " to " + out);
        }

        // Load both back onto a fresh base: the first with load, the second with loadAdapter.
        try (BertModel bert = BertModel.fromPretrained(MODEL)) {
            PeftModel<BertModel> peft = PeftModel.load(bert, out);
            peft.loadAdapter(out.resolve("ffn"), "ffn", false);
            float[] reloaded = bert.embed(TEXT)[0];
            System.out.printf("reloaded %s; default adapter differs from before by %.1e%n",
                    peft.adapterNames(), distance(reloaded, attention));
        }
    }

    private static void show(String what, float[] vector, float[] base) {
        System.out.printf("%-24s distance to the base embedding %.4f%n", what, distance(vector, base));
    }

    /** Euclidean distance. */
    private static double distance(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += (a[i] - b[i]) * (double) (a[i] - b[i]);
        }
        return Math.sqrt(sum);
    }
}
