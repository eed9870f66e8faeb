package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Build check: a project depending on {@code dev.peft4j:peft-spark} gets neither Spark nor Scala
 * (the cluster provides them) nor platform natives (the application chooses them); the example's
 * optional dependencies (peft-lora, peft-minilm) are left out of the list the build writes.
 */
class SparkClasspathTest {

    private static final List<String> BANNED = List.of("spark-core", "spark-sql", "scala-library",
            "pytorch-native-", "junit", "slf4j-simple", "log4j-core");

    @Test
    void consumerRuntimeClasspathHasNoSparkAndNoNatives() throws IOException {
        Path file = Path.of("target/runtime-classpath.txt");
        assertTrue(Files.isRegularFile(file), file.toAbsolutePath() + " missing: the build writes it before the tests");
        List<String> banned = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String e : Files.readString(file).trim().split(File.pathSeparator)) {
            String name = Path.of(e).getFileName().toString();
            names.add(name);
            BANNED.stream().filter(name::contains).forEach(b -> banned.add(name));
        }
        assertEquals(List.of(), banned, "jars a peft-spark user must not get");
        assertTrue(names.stream().anyMatch(n -> n.contains("peft-core")), "peft-core missing: " + names);
    }
}
