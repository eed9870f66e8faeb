package dev.peft4j.examples.cli;

import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * Exit code and captured standard output and error (log lines dropped) of one command run.
 *
 * @param code the exit code
 * @param out standard output
 * @param err standard error without log lines
 */
record CliRun(int code, String out, String err) {

    static CliRun of(Callable<Integer> command, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = new CommandLine(command).execute(args);
            String errText = err.toString(StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.matches("\\[[^]]+] (WARN|INFO|DEBUG) .*"))
                    .collect(Collectors.joining("\n"));
            return new CliRun(code, out.toString(StandardCharsets.UTF_8), errText);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /**
     * The whole {@code peft4j} command line, its output captured through picocli's writers (log
     * lines are not in them).
     *
     * @param args the command line
     * @return its exit code and output
     */
    static CliRun run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new Peft4jCli());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }
}
