package dev.peft4j.examples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.peft4j.core.io.TensorInfo;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/** Renders a {@link WeightsSummary} as an aligned table or as JSON. */
final class SummaryPrinter {

    private SummaryPrinter() {}

    /** Prints the human-readable report. */
    static void printText(WeightsSummary s, PrintWriter out) {
        out.println("weights: " + s.weights());
        if (s.modelType() != null) {
            out.println("model_type: " + s.modelType());
        }
        if (!s.architectures().isEmpty()) {
            out.println("architectures: " + String.join(", ", s.architectures()));
        }
        if (!s.shards().isEmpty()) {
            out.println("shards: " + s.shards().size());
            for (Path shard : s.shards()) {
                out.println("  " + shard.getFileName());
            }
        }
        out.println();
        int nameWidth = "NAME".length();
        int dtypeWidth = "DTYPE".length();
        for (TensorInfo t : s.tensors()) {
            nameWidth = Math.max(nameWidth, t.name().length());
            dtypeWidth = Math.max(dtypeWidth, t.dtype().name().length());
        }
        String row = "%-" + nameWidth + "s  %-" + dtypeWidth + "s  %s%n";
        out.printf(Locale.ROOT, row, "NAME", "DTYPE", "SHAPE");
        for (TensorInfo t : s.tensors()) {
            out.printf(Locale.ROOT, row, t.name(), t.dtype(), Arrays.toString(t.shape()));
        }
        out.println();
        out.printf(
                Locale.ROOT,
                "%d tensors, %,d parameters, %,d bytes (%s)%n",
                s.tensors().size(),
                s.parameters(),
                s.bytes(),
                humanBytes(s.bytes()));
        if (!s.metadata().isEmpty()) {
            out.println("metadata:");
            s.metadata().forEach((k, v) -> out.println("  " + k + ": " + v));
        }
        out.flush();
    }

    /** Builds the JSON report. */
    static ObjectNode toJson(WeightsSummary s, ObjectMapper json) {
        ObjectNode root = json.createObjectNode();
        root.put("path", s.path().toString());
        root.put("weights", s.weights().toString());
        root.put("model_type", s.modelType());
        ArrayNode architectures = root.putArray("architectures");
        s.architectures().forEach(architectures::add);
        ArrayNode shards = root.putArray("shards");
        s.shards().forEach(p -> shards.add(p.toString()));
        ArrayNode tensors = root.putArray("tensors");
        for (TensorInfo t : s.tensors()) {
            ObjectNode node = tensors.addObject();
            node.put("name", t.name());
            node.put("dtype", t.dtype().name());
            ArrayNode shape = node.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            node.put("parameters", t.numel());
            node.put("bytes", t.byteSize());
        }
        root.put("parameters", s.parameters());
        root.put("bytes", s.bytes());
        ObjectNode metadata = root.putObject("metadata");
        s.metadata().forEach(metadata::put);
        return root;
    }

    /** @return e.g. "1.5 MiB" */
    static String humanBytes(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
