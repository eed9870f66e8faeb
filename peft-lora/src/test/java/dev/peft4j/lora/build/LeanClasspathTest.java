package dev.peft4j.lora.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Build check: what a project depending on {@code dev.peft4j:peft-lora} gets at run time. The build
 * writes peft-lora's runtime class path ({@code mvn dependency:build-classpath
 * -Dmdep.includeScope=runtime}, bound in this module's pom) to {@value #CLASSPATH_FILE}; this test
 * reads it and fails when a model jar, platform natives, a plotting, terminal or test library is
 * on it, or when it weighs more than {@value #MAX_MB} MB (peft-lora's own classes included). The
 * figure is recorded in docs/benchmarks.md.
 */
class LeanClasspathTest {

    static final String CLASSPATH_FILE = "target/runtime-classpath.txt";
    static final int MAX_MB = 40;

    /** Jar name fragments that must not reach a library user, with the reason. */
    static final List<String[]> BANNED = List.of(
            new String[] {"langchain4j-embeddings", "the 80 MB MiniLM weights: dev.peft4j:peft-minilm brings them"},
            new String[] {"pytorch-native-", "platform natives: the application chooses them (docs/gpu.md)"},
            new String[] {"onnxruntime", "ONNX Runtime: test reference only"},
            new String[] {"xchart", "plotting: optional in peft-core"},
            new String[] {"pdfbox", "plotting (via xchart)"},
            new String[] {"progressbar", "terminal progress bar: optional in peft-core"},
            new String[] {"jline", "terminal (via progressbar)"},
            new String[] {"junit", "test library"},
            new String[] {"opentest4j", "test library"},
            new String[] {"slf4j-simple", "a logging backend: the application chooses it"});

    @Test
    void consumerRuntimeClasspathIsLean() throws IOException {
        Path file = Path.of(CLASSPATH_FILE);
        assertTrue(Files.isRegularFile(file), file.toAbsolutePath() + " missing: the build writes it (dependency:"
                + "build-classpath in peft-lora's pom) before the tests");
        List<Path> entries = new ArrayList<>();
        for (String e : Files.readString(file).trim().split(File.pathSeparator)) {
            if (!e.isBlank()) {
                entries.add(Path.of(e));
            }
        }
        entries.add(Path.of("target/classes")); // peft-lora itself
        List<String> banned = new ArrayList<>();
        long bytes = 0;
        for (Path p : entries) {
            String name = p.getFileName().toString();
            for (String[] b : BANNED) {
                if (name.contains(b[0])) {
                    banned.add(name + " (" + b[1] + ")");
                }
            }
            bytes += size(p);
        }
        assertEquals(List.of(), banned, "jars a peft-lora user must not get");
        double mb = bytes / 1e6;
        System.out.printf(Locale.ROOT, "peft-lora runtime class path: %d entries, %.1f MB%n", entries.size(), mb);
        assertTrue(mb <= MAX_MB, String.format(Locale.ROOT, "peft-lora's runtime class path weighs %.1f MB (> %d MB):"
                + " %s", mb, MAX_MB, entries));
        assertTrue(entries.stream().anyMatch(p -> p.toString().contains("peft-core")), "peft-core missing: " + entries);
    }

    private static long size(Path p) throws IOException {
        if (!Files.isDirectory(p)) {
            return Files.size(p);
        }
        try (Stream<Path> files = Files.walk(p)) {
            long sum = 0;
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                sum += Files.size(f);
            }
            return sum;
        }
    }
}
