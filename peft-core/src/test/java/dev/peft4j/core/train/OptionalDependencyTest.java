package dev.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * progressbar and xchart are optional in peft-core: with peft-core's classes alone on the class
 * path (as a library user has them), asking for the bar or the curve fails naming the artifact,
 * and turning them off needs neither jar.
 */
class OptionalDependencyTest {

    @TempDir
    Path tmp;

    /** A class loader with peft-core's main classes only: no progressbar, no xchart. */
    private static URLClassLoader coreOnly() {
        URL classes = TrainingCurve.class.getProtectionDomain().getCodeSource().getLocation();
        return new URLClassLoader(new URL[] {classes}, ClassLoader.getPlatformClassLoader());
    }

    private static Throwable cause(Method m, Object... args) {
        m.setAccessible(true);
        return assertThrows(InvocationTargetException.class, () -> m.invoke(null, args)).getCause();
    }

    @Test
    void curveWithoutXchartNamesTheArtifact() throws Exception {
        try (URLClassLoader loader = coreOnly()) {
            Class<?> curve = Class.forName("dev.peft4j.core.train.TrainingCurve", true, loader);
            Method write = curve.getDeclaredMethod("write", Path.class, List.class, Map.class);
            Path png = tmp.resolve("curve.png");
            Throwable e = cause(write, png, List.of(new double[] {1, 0.5}), Map.of());
            assertInstanceOf(IllegalStateException.class, e);
            assertEquals("the PNG training curve (TrainingConfig.optTrainingCurve) needs org.knowm.xchart:xchart:3.8.8"
                    + " on the classpath (an optional dependency of peft-core): add it to your build, or turn the"
                    + " feature off", e.getMessage());
            assertFalse(Files.exists(png));
        }
    }

    @Test
    void progressBarWithoutTheJarNamesTheArtifactAndOffNeedsNoJar() throws Exception {
        try (URLClassLoader loader = coreOnly()) {
            Class<?> reporter = Class.forName("dev.peft4j.core.train.ProgressReporter", true, loader);
            Method create = reporter.getDeclaredMethod("create", boolean.class, long.class, long.class, Duration.class);
            Throwable e = cause(create, true, 0L, 10L, Duration.ZERO);
            assertInstanceOf(IllegalStateException.class, e);
            assertEquals("the console progress bar (TrainingConfig.optProgressBar) needs me.tongfei:progressbar:0.10.2"
                    + " on the classpath (an optional dependency of peft-core): add it to your build, or turn the"
                    + " feature off", e.getMessage());
            Object silent = create.invoke(null, false, 0L, 10L, Duration.ZERO);
            Method step = reporter.getMethod("step", long.class, String.class);
            Method close = reporter.getMethod("close");
            step.setAccessible(true);
            close.setAccessible(true);
            step.invoke(silent, 1L, "loss 1.0");
            close.invoke(silent);
        }
    }

    @Test
    void withTheJarsPresentNothingIsThrown() {
        OptionalDependency.PROGRESS_BAR.require();
        OptionalDependency.TRAINING_CURVE.require();
    }
}
