package dev.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** {@link MethodsReport} on hand-written summaries: the table's cells, the RSS source, the PNG. */
class MethodsReportTest {

    private static final String LORA = "{\"method\": \"lora\", \"settings\": \"r=8, alpha 16, query+value\","
            + " \"learning_rate\": 0.001, \"trainable_parameters\": 74498, \"trainable_percent\": 0.3291,"
            + " \"accuracy\": 0.853, \"macro_f1\": 0.8321, \"train_seconds\": 125.6, \"examples_per_second\": 31.85,"
            + " \"peak_rss_mib\": 2000.0, \"train_examples\": 4000, \"test_examples\": 1000}";
    private static final String PROMPT = "{\"method\": \"prompt-tuning\", \"settings\": \"20 virtual tokens\","
            + " \"learning_rate\": 0.03, \"trainable_parameters\": 8450, \"trainable_percent\": 0.0374,"
            + " \"accuracy\": 0.658, \"macro_f1\": 0.3967, \"train_seconds\": 61.0, \"examples_per_second\": 65.57,"
            + " \"peak_rss_mib\": 1800.0, \"train_examples\": 4000, \"test_examples\": 1000}";

    @Test
    void tableInMethodOrderWithTimeRssAndStanding(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("prompt-tuning.json"), PROMPT);
        Files.writeString(dir.resolve("lora.json"), LORA);
        // /usr/bin/time -v's figure wins over the JVM's own VmHWM: 2,662,400 kB = 2,600 MiB
        Files.writeString(dir.resolve("lora.time.txt"), "\tUser time (seconds): 150.25\n"
                + "\tSystem time (seconds): 9.50\n\tMaximum resident set size (kbytes): 2662400\n");
        List<MethodsReport.Row> rows = MethodsReport.read(dir);
        assertEquals(List.of("lora", "prompt-tuning"), rows.stream().map(MethodsReport.Row::method).toList());
        String[] lines = MethodsReport.table(rows, MethodsReport.References.of(rows)).split("\n");
        assertEquals(4, lines.length);
        assertEquals("| lora | r=8, alpha 16, query+value | 1e-3 | 74,498 | 0.329% | **0.8530** | 0.8321 | 2 min 06 s"
                + " | 31.9 | 2,600 MiB | 2 min 40 s |", lines[2]);
        // at the majority class: no bold, a dagger; RSS from the summary when time -v's file is absent
        assertEquals("| prompt-tuning | 20 virtual tokens | 3e-2 | 8,450 | 0.037% | 0.6580 † | 0.3967 | 1 min 01 s"
                + " | 65.6 | 1,800 MiB | — |", lines[3]);
    }

    @Test
    void chartIsAPng(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("lora.json"), LORA);
        Files.writeString(dir.resolve("prompt-tuning.json"), PROMPT);
        Path png = dir.resolve("chart.png");
        MethodsReport.main(new String[] {dir.toString(), dir.resolve("t.md").toString(), png.toString()});
        byte[] head = Arrays.copyOf(Files.readAllBytes(png), 4);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head);
        assertTrue(Files.readString(dir.resolve("t.md")).startsWith("| method | settings | lr |"));
    }

    @Test
    void heldOutRunsAreReadAgainstTheirOwnMajorityClass(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("ia3.json"), "{\"method\": \"ia3\", \"learning_rate\": 0.01,"
                + " \"train_examples\": 1000, \"holdout_examples\": 500, \"accuracy\": 0.802}");
        List<MethodsReport.Row> rows = MethodsReport.read(dir);
        MethodsReport.References refs = MethodsReport.References.of(rows);
        assertEquals(0.632, refs.majority(), 1e-12);   // 316 of training reviews 1,001-1,500 are "great"
        assertTrue(Double.isNaN(refs.baseline()));
        assertTrue(MethodsReport.table(rows, refs).contains("| held-out accuracy |"));
        Files.writeString(dir.resolve("lora.json"), LORA);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MethodsReport.References.of(MethodsReport.read(dir)));
        assertTrue(e.getMessage().startsWith("the summaries mix evaluation sets"), e.getMessage());
    }

    @Test
    void emptyDirectoryNamesIt(@TempDir Path dir) {
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> MethodsReport.read(dir));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }
}
