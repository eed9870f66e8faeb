package dev.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peft4j.core.data.LabeledText;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@link ClassifyReviews} on 200 training and 100 test reviews, one epoch (13 steps): the full run
 * (4,000 / 1,000) is measured by hand, see docs/benchmarks.md.
 */
class ClassifyReviewsTest {

    @Test
    void quickRunTrainsSavesMergesAndExportsConsistently(@TempDir Path dir) throws Exception {
        List<String> lines = MainRun.lines(ClassifyReviews::main,
                "--train", "1000", "--test", "200", "--epochs", "2", "--out", dir.toString());
        assertEquals("trainable params: 74,498 || all params: 22,639,874 || trainable%: 0.3291", lines.get(0));
        assertTrue(lines.get(1).matches("test accuracy 0\\.\\d{3}"), lines.get(1));
        double accuracy = Double.parseDouble(lines.get(1).substring("test accuracy ".length()));
        // it must learn: beat the majority class (123 of these 200 reviews are "great"); 200 reviews for one
        // epoch still answer "great" everywhere (0.61-0.63 on the first 100), two epochs of 1,000 reach ~0.8
        List<LabeledText> test = ClassifyReviews.reviews("test.jsonl", 200);
        long great = test.stream().filter(r -> r.label().equals("great")).count();
        assertEquals(123, great);
        assertTrue(accuracy > great / 200.0, lines.get(1));
        assertEquals("exported model predicts as the adapted one on all 200 test reviews", lines.get(2));
        for (String f : List.of("adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                "merged/config.json", "merged/model.safetensors", "merged/tokenizer.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
    }

    @Test
    void bundledReviewsAreReadAsRecords() throws Exception {
        List<LabeledText> train = ClassifyReviews.reviews("train.jsonl", Integer.MAX_VALUE);
        List<LabeledText> test = ClassifyReviews.reviews("test.jsonl", Integer.MAX_VALUE);
        assertEquals(4000, train.size());
        assertEquals(1000, test.size());
        assertEquals(658, test.stream().filter(r -> r.label().equals("great")).count());
    }
}
