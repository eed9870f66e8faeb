package dev.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * The README's library walkthrough is {@code docs/consumer-check/src/main/java/Main.java} verbatim,
 * and it compiles against the library (this module's test class path). {@code
 * docs/consumer-check/run.sh} runs it from a separate Maven project.
 */
class ReadmeWalkthroughTest {

    private static final Path ROOT = Path.of("..");
    private static final Path MAIN = ROOT.resolve("docs/consumer-check/src/main/java/Main.java");
    private static final String MARKER = "<!-- walkthrough: docs/consumer-check/src/main/java/Main.java -->";

    @Test
    void readmeBlockIsTheConsumerMain() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int marker = readme.indexOf(MARKER);
        assertTrue(marker >= 0, "README.md has no " + MARKER);
        int start = readme.indexOf("```java\n", marker) + "```java\n".length();
        int end = readme.indexOf("```", start);
        assertEquals(Files.readString(MAIN), readme.substring(start, end));
    }

    @Test
    void walkthroughCompilesAndIsShort(@TempDir Path out) throws Exception {
        List<String> lines = Files.readAllLines(MAIN);
        long body = lines.stream().dropWhile(l -> !l.startsWith("public class")).count();
        assertTrue(body <= 30, "the walkthrough's class has " + body + " lines (target: 30)");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, "-d", out.toString(), "-cp", System.getProperty("java.class.path"),
                MAIN.toString());
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        assertTrue(Files.isRegularFile(out.resolve("Main.class")));
    }
}
