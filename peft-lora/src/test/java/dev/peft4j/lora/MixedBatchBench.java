package dev.peft4j.lora;

import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.peft.AdapterRouting;
import dev.peft4j.core.peft.PeftModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The cost of a mixed-adapter batch on {@code builtin:all-minilm-l6-v2}: 32 texts over 4 LoRA
 * adapters (query/value, r=8, 8 rows each, rows shuffled) embedded (a) in one routed batch, (b)
 * as 4 single-adapter batches of 8 (setAdapter between them), (c) as one batch of 32 with one
 * adapter active for every row (the floor: no routing at all). Medians of {@code runs} after two
 * warm-ups (and the median of the per-run ratios), the three interleaved in each run so that other processes' load affects them alike.
 * Not a test: run it by hand.
 *
 * <pre>
 * mvn -B -q -o -pl peft-lora -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp peft-lora/target/test-classes:peft-lora/target/classes:$(cat peft-lora/target/cp.txt) \
 *     dev.peft4j.lora.MixedBatchBench 9
 * </pre>
 */
public final class MixedBatchBench {

    private MixedBatchBench() {}

    /**
     * @param args {@code [runs]} (default 7)
     * @throws Exception when the model cannot be loaded
     */
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        List<String> adapters = List.of("a0", "a1", "a2", "a3");
        Random r = new Random(1);
        String[] words = "the coffee was strong and fresh but the delivery took two weeks and the box arrived broken"
                .split(" ");
        List<String> texts = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            StringBuilder t = new StringBuilder();
            for (int w = 0, n = 8 + r.nextInt(40); w < n; w++) {
                t.append(words[r.nextInt(words.length)]).append(' ');
            }
            texts.add(t.toString().trim());
            names.add(adapters.get(i % 4));
        }
        Collections.shuffle(names, r);
        try (BertModel bert = BertModel.fromPretrained("builtin:all-minilm-l6-v2")) {
            PeftModel<BertModel> peft = PeftModel.wrap(bert, LoraConfig.builder().setTargetModules("query", "value")
                    .optR(8).build());
            for (String a : adapters) {
                peft.addAdapter(a, LoraConfig.builder().setTargetModules("query", "value").optR(8)
                        .optInitLoraWeights(LoraInit.RANDOM).build());
            }
            peft.deleteAdapter(PeftModel.DEFAULT_ADAPTER);
            long[][] ms = new long[3][runs];
            for (int run = -2; run < runs; run++) {
                long t0 = System.nanoTime();
                try (AdapterRouting routing = peft.routeRows(names)) {
                    bert.embed(texts);
                }
                long t1 = System.nanoTime();
                for (String a : adapters) {
                    List<String> mine = new ArrayList<>();
                    for (int i = 0; i < texts.size(); i++) {
                        if (names.get(i).equals(a)) {
                            mine.add(texts.get(i));
                        }
                    }
                    peft.setAdapter(a);
                    bert.embed(mine);
                }
                long t2 = System.nanoTime();
                peft.setAdapter("a0");
                bert.embed(texts);
                long t3 = System.nanoTime();
                if (run >= 0) {
                    ms[0][run] = (t1 - t0) / 1_000_000;
                    ms[1][run] = (t2 - t1) / 1_000_000;
                    ms[2][run] = (t3 - t2) / 1_000_000;
                }
            }
            long mixed = median(ms[0]);
            long separate = median(ms[1]);
            long single = median(ms[2]);
            System.out.printf(Locale.ROOT, "mixed batch of 32 over 4 adapters: %d ms (runs %s)%n", mixed,
                    Arrays.toString(ms[0]));
            System.out.printf(Locale.ROOT, "4 single-adapter batches of 8:     %d ms (runs %s)%n", separate,
                    Arrays.toString(ms[1]));
            System.out.printf(Locale.ROOT, "one adapter for all 32 rows:       %d ms (runs %s)%n", single,
                    Arrays.toString(ms[2]));
            double[] vsSeparate = new double[runs];
            double[] vsSingle = new double[runs];
            for (int i = 0; i < runs; i++) {
                vsSeparate[i] = ms[0][i] / (double) ms[1][i];
                vsSingle[i] = ms[0][i] / (double) ms[2][i];
            }
            Arrays.sort(vsSeparate);
            Arrays.sort(vsSingle);
            System.out.printf(Locale.ROOT, "mixed / separate = %.2f (median of per-run ratios %.2f, range %.2f-%.2f)%n",
                    mixed / (double) separate, vsSeparate[runs / 2], vsSeparate[0], vsSeparate[runs - 1]);
            System.out.printf(Locale.ROOT, "mixed / single = %.2f (median of per-run ratios %.2f, range %.2f-%.2f)%n",
                    mixed / (double) single, vsSingle[runs / 2], vsSingle[0], vsSingle[runs - 1]);
        }
    }

    private static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
