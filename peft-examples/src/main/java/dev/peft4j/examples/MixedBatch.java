package dev.peft4j.examples;

import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.peft.AdapterRouting;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraInit;

import java.util.ArrayList;
import java.util.List;

/**
 * Serving many users' adapters over one loaded base, as PEFT's {@code adapter_names}: one batch
 * of requests in which each row names its adapter ({@code "support"}, {@code "legal"}) or the base
 * model ({@code "__base__"}), embedded in one call inside a {@code routeRows} scope. Each row gets
 * what it gets alone with its adapter active, which the program checks.
 *
 * <pre>
 * java -cp peft-examples/target/peft4j.jar dev.peft4j.examples.MixedBatch
 * </pre>
 *
 * The adapters are untrained but randomly initialized ({@code init_lora_weights=false}) so that
 * each changes the embedding visibly; in a real service they would be {@code loadAdapter}ed from
 * each user's directory.
 */
public final class MixedBatch {

    private static final String MODEL = "builtin:all-minilm-l6-v2";

    /** One request: the adapter it names and its text. */
    private record Request(String adapter, String text) {}

    private static final List<Request> REQUESTS = List.of(
            new Request("support", "My parcel has not arrived after two weeks."),
            new Request("legal", "The licensee shall not sublicense the software."),
            new Request(RowRouting.BASE, "A cup of strong black coffee."),
            new Request("support", "How do I reset my password?"),
            new Request("legal", "This agreement is governed by the laws of Ireland."),
            new Request(RowRouting.BASE, "Hi"));

    private MixedBatch() {}

    /**
     * @param args none
     * @throws Exception when loading fails or a routed row differs from its row alone
     */
    public static void main(String[] args) throws Exception {
        try (BertModel bert = BertModel.fromPretrained(MODEL)) {
            LoraConfig.Builder lora = LoraConfig.builder().optR(8).optInitLoraWeights(LoraInit.RANDOM);
            PeftModel<BertModel> peft = PeftModel.wrap(bert, lora.setTargetModules("query", "value").build());
            peft.deleteAdapter(PeftModel.DEFAULT_ADAPTER);
            peft.addAdapter("support", lora.setTargetModules("query", "value").build());
            peft.addAdapter("legal", lora.setTargetModules("intermediate.dense", "output.dense").build());

            List<String> names = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            for (Request r : REQUESTS) {
                names.add(r.adapter());
                texts.add(r.text());
            }
            float[][] served;
            try (AdapterRouting routing = peft.routeRows(names)) {   // one forward, each row its adapter
                served = bert.embed(texts);
            }
            System.out.println("served " + texts.size() + " requests over " + peft.adapterNames() + " and the base"
                    + " in one batch");

            double worst = 0;
            for (int i = 0; i < REQUESTS.size(); i++) {
                Request r = REQUESTS.get(i);
                float[] alone;
                if (r.adapter().equals(RowRouting.BASE)) {
                    try (PeftModel<BertModel>.AdaptersDisabled off = peft.disableAdapters()) {
                        alone = bert.embed(List.of(r.text()))[0];
                    }
                } else {
                    peft.setAdapter(r.adapter());
                    alone = bert.embed(List.of(r.text()))[0];
                }
                double d = maxAbsDiff(served[i], alone);
                worst = Math.max(worst, d);
                System.out.printf("%-8s | %-50s | first dims %+.4f %+.4f%n", r.adapter(), r.text(), served[i][0],
                        served[i][1]);
            }
            System.out.printf("largest difference to running each request alone: %.1e%n", worst);
            if (worst > 1e-4) {
                throw new IllegalStateException("a routed row differs from its row alone by " + worst);
            }
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
