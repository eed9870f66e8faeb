package dev.peft4j.examples.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.Callable;

/**
 * Base of the subcommands: turns any exception into one line {@code error: <message>} on stderr
 * and exit code 1 (with the stack trace under {@code --verbose}).
 */
abstract class CliCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @ParentCommand Peft4jCli parent;

    /** Runs the command; output goes to {@link #out()}. */
    abstract int run() throws Exception;

    @Override
    public final Integer call() {
        try {
            return run();
        } catch (Exception e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("error: " + message(e));
            if (parent != null && parent.verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return 1;
        }
    }

    /** @return the command's standard output */
    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    static String message(Throwable e) {
        if (e instanceof NoSuchFileException n && n.getReason() == null) {
            return "no such file or directory: " + n.getFile();
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
