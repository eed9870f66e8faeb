package dev.peft4j.core.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a child JVM on the test JVM's class path (the same DJL settings as Surefire's), for tests
 * that kill a process or need a JVM of their own (a fixed, pre-touched heap for memory soaks).
 */
public final class ChildJvm {

    private ChildJvm() {}

    /**
     * @param jvmOptions options such as {@code -Xmx256m}
     * @param mainClass the class whose {@code main} runs
     * @param stderr where the child's standard error goes
     * @param args the program arguments
     * @return the started process; its standard output is a pipe to read
     * @throws IOException when the process cannot be started
     */
    public static Process start(List<String> jvmOptions, Class<?> mainClass, Path stderr, String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-Dai.djl.default_engine=PyTorch");
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        String shared = System.getProperty(Fixtures.PROPERTY);
        if (shared != null) {
            cmd.add("-D" + Fixtures.PROPERTY + "=" + shared);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("DJL_OFFLINE", "true");
        pb.redirectError(stderr.toFile());
        return pb.start();
    }
}
