package dev.peft4j.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns the JSON summaries of {@link CompareMethods} (one {@code METHOD.json} per method in a
 * directory, with an optional {@code METHOD.time.txt} from {@code /usr/bin/time -v}) into the
 * comparison table (markdown) and a chart of test accuracy against trainable parameters (PNG,
 * logarithmic x axis, with the majority-class and frozen-embedding lines).
 *
 * <pre>
 * java -cp peft-examples/target/peft4j.jar dev.peft4j.examples.MethodsReport RUN_DIR TABLE.md CHART.png
 * </pre>
 */
public final class MethodsReport {

    /** The methods in the table's order ({@code --method} names). */
    public static final List<String> METHODS = List.of(
            "lora", "ia3", "bottleneck", "bitfit", "prompt-tuning", "p-tuning", "prefix-tuning");

    /** Test accuracy of always answering {@code great} on the 1,000 test reviews. */
    public static final double MAJORITY = 0.658;

    /** Test accuracy of logistic regression on the frozen mean-pooled embeddings (the demo's baseline). */
    public static final double FROZEN_BASELINE = 0.771;

    /** One colour per method, in {@link #METHODS} order (XChart's palette repeats hues). */
    private static final Color[] COLORS = {
        new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44), new Color(148, 103, 189),
        new Color(214, 39, 40), new Color(140, 86, 75), new Color(227, 119, 194)};

    private static final Pattern MAX_RSS = Pattern.compile("Maximum resident set size \\(kbytes\\): (\\d+)");
    private static final Pattern CPU = Pattern.compile("(?:User|System) time \\(seconds\\): ([0-9.]+)");

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private MethodsReport() {}

    /** One method's figures; {@code heldOut} rows (tuning runs) were evaluated on training reviews. */
    record Row(String method, String settings, double lr, long trainable, double percent, double accuracy,
               double macroF1, double trainSeconds, double examplesPerSecond, double peakRssMib, double cpuSeconds,
               boolean heldOut, int trainExamples, int evalExamples) {}

    /**
     * The lines every method is read against: on the test reviews the majority class (0.658) and the
     * frozen-embedding baseline (0.771); on held-out training reviews the majority class of those
     * reviews (no baseline: NaN).
     */
    record References(double majority, double baseline) {

        static References of(List<Row> rows) throws IOException {
            if (rows.stream().noneMatch(Row::heldOut)) {
                return new References(MAJORITY, FROZEN_BASELINE);
            }
            Row r = rows.get(0);
            if (rows.stream().anyMatch(o -> !o.heldOut() || o.trainExamples() != r.trainExamples()
                    || o.evalExamples() != r.evalExamples())) {
                throw new IllegalArgumentException("the summaries mix evaluation sets (test and held-out, or other"
                        + " held-out sizes); put each set's runs in its own directory");
            }
            List<dev.peft4j.core.data.LabeledText> all = ClassifyReviews.reviews("train.jsonl",
                    r.trainExamples() + r.evalExamples());
            List<dev.peft4j.core.data.LabeledText> heldOut = all.subList(r.trainExamples(), all.size());
            long top = heldOut.stream().collect(java.util.stream.Collectors.groupingBy(
                    dev.peft4j.core.data.LabeledText::label, java.util.stream.Collectors.counting()))
                    .values().stream().mapToLong(Long::longValue).max().orElse(0);
            return new References((double) top / heldOut.size(), Double.NaN);
        }
    }

    /**
     * @param args the run directory, the markdown file and the PNG file to write
     * @throws IOException when a summary is missing or unreadable, or writing fails
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            throw new IllegalArgumentException("usage: MethodsReport RUN_DIR TABLE.md CHART.png");
        }
        List<Row> rows = read(Path.of(args[0]));
        References refs = References.of(rows);
        writeAtomically(Path.of(args[1]), table(rows, refs).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        chart(rows, refs, Path.of(args[2]));
        System.out.println("wrote " + args[1] + " and " + args[2]);
    }

    /**
     * @param dir the directory with {@code METHOD.json} for every method of {@link #METHODS} that ran
     * @return the rows, in the table's order
     * @throws IOException when no summary is there or one cannot be read
     */
    static List<Row> read(Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Row> rows = new ArrayList<>();
        for (String method : METHODS) {
            Path file = dir.resolve(method + ".json");
            if (!Files.isRegularFile(file)) {
                continue;
            }
            JsonNode s = json.readTree(file.toFile());
            double rss = timeRssMib(dir.resolve(method + ".time.txt")).orElse(s.path("peak_rss_mib").asDouble());
            boolean heldOut = s.has("holdout_examples");
            rows.add(new Row(method, s.path("settings").asText(), s.path("learning_rate").asDouble(),
                    s.path("trainable_parameters").asLong(), s.path("trainable_percent").asDouble(),
                    s.path("accuracy").asDouble(), s.path("macro_f1").asDouble(), s.path("train_seconds").asDouble(),
                    s.path("examples_per_second").asDouble(), rss,
                    cpuSeconds(dir.resolve(method + ".time.txt")).orElse(Double.NaN), heldOut, s.path("train_examples").asInt(),
                    s.path(heldOut ? "holdout_examples" : "test_examples").asInt()));
        }
        if (rows.isEmpty()) {
            throw new NoSuchFileException(dir.toString(), null, "no METHOD.json summary of CompareMethods there");
        }
        return rows;
    }

    /** The peak RSS that {@code /usr/bin/time -v} reported, when its output is there. */
    static Optional<Double> timeRssMib(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Matcher m = MAX_RSS.matcher(Files.readString(file));
        return m.find() ? Optional.of(Long.parseLong(m.group(1)) / 1024.0) : Optional.empty();
    }

    /** User + system CPU seconds of the whole process, from {@code /usr/bin/time -v}'s output when it is there. */
    static Optional<Double> cpuSeconds(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Matcher m = CPU.matcher(Files.readString(file));
        double sum = 0;
        int found = 0;
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
            found++;
        }
        return found == 2 ? Optional.of(sum) : Optional.empty();
    }

    /**
     * @param rows the figures
     * @param refs the reference lines: bold above the baseline, a dagger at or below the majority class
     * @return the markdown table, one line per method
     */
    static String table(List<Row> rows, References refs) {
        StringBuilder b = new StringBuilder();
        b.append("| method | settings | lr | trainable parameters | % of the model | "
                + (rows.get(0).heldOut() ? "held-out accuracy" : "test accuracy")
                + " | macro-F1 | training time | examples/s | peak RSS | CPU time (whole run) |\n");
        b.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %,d | %.3f%% | %s | %.4f | %s | %.1f | %,.0f MiB | %s |%n",
                    r.method(), r.settings(), lr(r.lr()), r.trainable(), r.percent(), accuracy(r.accuracy(), refs),
                    r.macroF1(), duration(r.trainSeconds()), r.examplesPerSecond(), r.peakRssMib(),
                    Double.isNaN(r.cpuSeconds()) ? "—" : duration(r.cpuSeconds())));
        }
        return b.toString();
    }

    /** Accuracy with its standing: bold above the frozen baseline, a dagger at or below the majority class. */
    private static String accuracy(double a, References refs) {
        String v = String.format(Locale.ROOT, "%.4f", a);
        if (a > refs.baseline()) {
            return "**" + v + "**";
        }
        return a > refs.majority() ? v : v + " †";
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
    }

    private static String lr(double lr) {
        return String.format(Locale.ROOT, "%.0e", lr).replace("e-0", "e-");
    }

    /**
     * Draws accuracy against trainable parameters (log x), one labelled point per method.
     *
     * @param rows the figures
     * @param refs the reference lines
     * @param file the PNG to write (atomically)
     * @throws IOException when writing fails
     */
    static void chart(List<Row> rows, References refs, Path file) throws IOException {
        Row first = rows.get(0);
        String on = first.heldOut() ? String.format(Locale.ROOT, "accuracy on %d held-out training reviews",
                first.evalExamples()) : String.format(Locale.ROOT, "accuracy on the %,d test reviews",
                first.evalExamples());
        XYChart chart = new XYChartBuilder().width(820).height(480)
                .title(String.format(Locale.ROOT, "all-MiniLM-L6-v2, %,d fine-food reviews: accuracy vs trainable"
                        + " parameters", first.trainExamples()))
                .xAxisTitle("trainable parameters (log scale, classifier head included)").yAxisTitle(on)
                .build();
        Styler.LegendPosition legend = Styler.LegendPosition.OutsideE;
        chart.getStyler().setLegendPosition(legend);
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setXAxisDecimalPattern("#,###");
        chart.getStyler().setYAxisDecimalPattern("0.00");
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setMarkerSize(11);
        double min = rows.stream().mapToDouble(Row::trainable).min().orElse(1) / 2;
        double max = rows.stream().mapToDouble(Row::trainable).max().orElse(10) * 2;
        double lowest = Math.min(refs.majority(), rows.stream().mapToDouble(Row::accuracy).min().orElse(1));
        chart.getStyler().setYAxisMin(Math.floor((lowest - 0.02) * 50) / 50);
        chart.getStyler().setYAxisMax(Math.max(0.9, rows.stream().mapToDouble(Row::accuracy).max().orElse(0.9)));
        for (Row r : rows) {
            XYSeries s = chart.addSeries(String.format(Locale.ROOT, "%s %.3f", r.method(), r.accuracy()),
                    new double[] {r.trainable()}, new double[] {r.accuracy()});
            s.setMarker(SeriesMarkers.CIRCLE);
            Color color = COLORS[METHODS.indexOf(r.method()) % COLORS.length];
            s.setMarkerColor(color);
            s.setLineColor(color);
        }
        if (!Double.isNaN(refs.baseline())) {
            line(chart, String.format(Locale.ROOT, "frozen embeddings + LR %.3f", refs.baseline()), min, max,
                    refs.baseline(), new Color(90, 90, 90));
        }
        line(chart, String.format(Locale.ROOT, "majority class %.3f", refs.majority()), min, max, refs.majority(),
                new Color(180, 60, 60));
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void line(XYChart chart, String name, double from, double to, double y, Color color) {
        XYSeries s = chart.addSeries(name, new double[] {from, to}, new double[] {y, y});
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
        s.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                new float[] {6f, 4f}, 0f));
    }

    private static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
