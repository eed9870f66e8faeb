package dev.peft4j.core.testing;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the shared test fixtures ({@code ../shared/fixtures}, passed by Surefire as the system
 * property {@value #PROPERTY}). Tests that need a fixture call {@link #fixture} (or {@link
 * #shared}). When it is absent the test is skipped with a message on a developer's machine, and
 * FAILS, naming the missing path, under CI (environment variable {@code CI=true}), so that a CI run
 * without the fixtures cannot pass by skipping. This is the one place making that decision: every
 * test needing {@code ../shared} goes through it.
 */
public final class Fixtures {

    /** The system property holding the shared folder. */
    public static final String PROPERTY = "peft4j.shared";

    /** The environment variable that marks a CI run ({@code CI=true}, as GitHub Actions sets). */
    public static final String CI_VARIABLE = "CI";

    private Fixtures() {}

    /**
     * The shared folder; skips the calling test (fails it under CI) when it is not configured or
     * absent.
     *
     * @return the folder
     */
    public static Path shared() {
        String dir = System.getProperty(PROPERTY);
        require(
                dir != null && Files.isDirectory(Path.of(dir)),
                "shared fixtures folder not found: "
                        + (dir == null ? "(system property " + PROPERTY + " not set)" : Path.of(dir).toAbsolutePath()),
                isCi());
        return Path.of(dir);
    }

    /**
     * A path under {@code shared/fixtures}; skips the calling test (fails it under CI) when it is
     * absent.
     *
     * @param first the first path element, e.g. {@code "tiny-causal-lm"}
     * @param more further elements
     * @return the existing file or folder
     */
    public static Path fixture(String first, String... more) {
        Path path = shared().resolve("fixtures").resolve(Path.of(first, more));
        require(Files.exists(path), "fixture not found: " + path.toAbsolutePath(), isCi());
        return path;
    }

    /** @return whether this is a CI run ({@code CI=true} in the environment) */
    public static boolean isCi() {
        return "true".equalsIgnoreCase(System.getenv(CI_VARIABLE));
    }

    /**
     * Skips the calling test when {@code present} is false, or fails it under CI.
     *
     * @param present whether what the test needs is there
     * @param missing the message naming what is missing
     * @param ci whether this is a CI run
     */
    static void require(boolean present, String missing, boolean ci) {
        if (present) {
            return;
        }
        if (ci) {
            Assertions.fail(missing + " (" + CI_VARIABLE + "=true: missing fixtures fail the build instead of skipping)");
        }
        Assumptions.abort(missing);
    }
}
