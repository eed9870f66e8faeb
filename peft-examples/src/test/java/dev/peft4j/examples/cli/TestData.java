package dev.peft4j.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small training files shared by the CLI tests. */
final class TestData {

    private TestData() {}

    /**
     * The first rows of the demo's fine-food reviews.
     *
     * @param dir where to write
     * @param name {@code train.jsonl} or {@code test.jsonl}
     * @param rows how many reviews
     * @return {@code dir/slice-<name>}
     */
    static Path reviews(Path dir, String name, int rows) throws IOException {
        try (InputStream in = DemoData.open(name)) {
            List<String> lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().limit(rows).toList();
            return Files.write(dir.resolve("slice-" + name), lines);
        }
    }

    /**
     * Pre-tokenized causal-LM rows for the tiny Llama fixture: a repeating pattern an adapter can
     * learn; the first two ids are a prompt ({@code prompt_len} 2).
     *
     * @param dir where to write
     * @param name the file name
     * @param rows how many rows
     * @return {@code dir/<name>}
     */
    static Path preTokenized(Path dir, String name, int rows) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            StringBuilder ids = new StringBuilder("1");
            for (int t = 0; t < 6 + i % 3; t++) {
                ids.append(", ").append(10 + (i + t) % 5);
            }
            lines.add("{\"input_ids\": [" + ids + "], \"prompt_len\": 2}");
        }
        return Files.write(dir.resolve(name), lines);
    }
}
