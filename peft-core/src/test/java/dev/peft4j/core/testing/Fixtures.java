package dev.peft4j.core.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the shared test fixtures ({@code ../shared/fixtures}, passed by Surefire as the system
 * property {@value #PROPERTY}). Tests that need a fixture call {@link #fixture} and are skipped,
 * with a message, when it is absent.
 */
public final class Fixtures {

    /** The system property holding the shared folder. */
    public static final String PROPERTY = "peft4j.shared";

    private Fixtures() {}

    /**
     * The shared folder; skips the calling test when it is not configured or absent.
     *
     * @return the folder
     */
    public static Path shared() {
        String dir = System.getProperty(PROPERTY);
        Assumptions.assumeTrue(
                dir != null && Files.isDirectory(Path.of(dir)),
                "shared fixtures folder not found (system property "
                        + PROPERTY
                        + " = "
                        + dir
                        + ")");
        return Path.of(dir);
    }

    /**
     * A path under {@code shared/fixtures}; skips the calling test when it is absent.
     *
     * @param first the first path element, e.g. {@code "tiny-causal-lm"}
     * @param more further elements
     * @return the existing file or folder
     */
    public static Path fixture(String first, String... more) {
        Path path = shared().resolve("fixtures").resolve(Path.of(first, more));
        Assumptions.assumeTrue(Files.exists(path), "fixture not found: " + path);
        return path;
    }
}
