package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.task.ClassificationMetrics;
import dev.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

/** {@code train --baseline} on 48 fine-food reviews with the builtin MiniLM at 32 tokens. */
class TrainBaselineTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void trainBaselineReportsTheFrozenEmbeddingProbe() throws IOException {
        Path train = DemoData.extract("train.jsonl", 48, dir.resolve("train"));
        Path test = DemoData.extract("test.jsonl", 32, dir.resolve("test"));
        CliRun t = CliRun.of(new TrainCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--task", "classify",
                "--train", train.toString(), "--eval", test.toString(), "--epochs", "1", "--max-length", "32",
                "--baseline", "--out", dir.resolve("run").toString());
        assertEquals(0, t.code(), t.err());
        JsonNode summary = MAPPER.readTree(t.out());
        ModelFiles files = ModelFiles.resolve(Builtins.ALL_MINILM_L6_V2);
        try (TextTokenizer tokenizer = files.classificationTokenizer(32)) {
            ClassificationDataset tr = ClassificationDataset.builder().setFile(train).setTokenizer(tokenizer).build();
            ClassificationDataset te = ClassificationDataset.builder().setFile(test).setTokenizer(tokenizer)
                    .optLabels(tr.labels()).build();
            ClassificationMetrics expected = EmbeddingBaseline.run(files, tr, te, 32);
            assertEquals(expected.accuracy(), summary.get("baseline_accuracy").asDouble(), 1e-12);
            assertEquals(expected.macroF1(), summary.get("baseline_macro_f1").asDouble(), 1e-12);
        }
        CliRun noEval = CliRun.of(new TrainCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--task", "classify",
                "--train", train.toString(), "--baseline", "--out", dir.resolve("run2").toString());
        assertEquals(1, noEval.code());
        assertEquals("error: --baseline needs --eval: the baseline is scored on the eval rows", noEval.err());
    }
}
