package dev.peft4j.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The run's {@code metrics.jsonl}: one JSON object per line, written with Jackson and flushed per
 * line. Training lines have {@code "kind": "train"} ({@link StepMetrics#toJson()}), evaluation lines
 * {@code "kind": "eval"} with {@code step}, {@code epoch}, {@code elapsed_s} and the metrics. Keeps
 * the loss and metric history in memory for the training curve.
 */
final class MetricsLog implements Closeable {

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final BufferedWriter out;
    private final List<double[]> losses = new ArrayList<>();
    private final Map<String, List<double[]>> evals = new LinkedHashMap<>();

    /**
     * Opens the log. A fresh run truncates it; a resumed run keeps the lines of steps up to the
     * checkpoint's and drops later ones (they are about to be replayed).
     *
     * @param file the log file, or null to keep the history in memory only
     * @param keepUpToStep -1 to start empty, else the step resumed from
     */
    MetricsLog(Path file, long keepUpToStep) throws IOException {
        if (file == null) {
            out = null;
            return;
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        if (keepUpToStep >= 0 && Files.exists(file)) {
            List<String> kept = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException e) {
                    continue; // a line cut short by a crash
                }
                if (n.path("step").asLong(Long.MAX_VALUE) <= keepUpToStep) {
                    kept.add(line);
                    remember(n);
                }
            }
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } else {
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        }
    }

    private void remember(JsonNode n) {
        long step = n.path("step").asLong();
        if ("train".equals(n.path("kind").asText())) {
            losses.add(new double[] {step, n.path("loss").asDouble()});
        } else if ("eval".equals(n.path("kind").asText())) {
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().startsWith("eval_") && e.getValue().isNumber()) {
                    evals.computeIfAbsent(e.getKey(), k -> new ArrayList<>())
                            .add(new double[] {step, e.getValue().asDouble()});
                }
            }
        }
    }

    void train(StepMetrics m) throws IOException {
        write(m.toJson());
        losses.add(new double[] {m.step(), m.loss()});
    }

    /**
     * @param metrics metric values; names get an {@code eval_} prefix when missing
     */
    void eval(long step, double epoch, double elapsedSeconds, Map<String, Double> metrics) throws IOException {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("kind", "eval");
        line.put("step", step);
        line.put("epoch", epoch);
        line.put("elapsed_s", elapsedSeconds);
        for (Map.Entry<String, Double> e : metrics.entrySet()) {
            String name = evalName(e.getKey());
            line.put(name, e.getValue());
            evals.computeIfAbsent(name, k -> new ArrayList<>()).add(new double[] {step, e.getValue()});
        }
        write(line);
    }

    /**
     * @param metric a metric name
     * @return the name with an {@code eval_} prefix
     */
    static String evalName(String metric) {
        return metric.startsWith("eval_") ? metric : "eval_" + metric;
    }

    private void write(Map<String, Object> line) throws IOException {
        if (out == null) {
            return;
        }
        out.write(JSON.writeValueAsString(line));
        out.newLine();
        out.flush();
    }

    /** @return (step, loss) pairs, oldest first */
    List<double[]> losses() {
        return losses;
    }

    /** @return metric → (step, value) pairs */
    Map<String, List<double[]>> evals() {
        return evals;
    }

    @Override
    public void close() throws IOException {
        if (out != null) {
            out.close();
        }
    }
}
