package dev.peft4j.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * The {@code peft4j} command: entry point of {@code peft4j.jar}.
 *
 * <p>Exit codes: 0 on success, 1 when a command fails (one line {@code error: <message>} on
 * stderr; the stack trace too with {@code --verbose}), 2 for usage errors.
 */
@Command(
        name = "peft4j",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Parameter-efficient fine-tuning (LoRA/QLoRA, IA3, prompt, P- and prefix tuning, bottleneck"
                + " adapters, BitFit) of Hugging Face transformer models on the JVM.",
        subcommands = {
            InspectCommand.class,
            EmbedCommand.class,
            LogitsCommand.class,
            GenerateCommand.class,
            QuantizeCommand.class,
            DequantizeCommand.class,
            MergeCommand.class,
            TrainCommand.class,
            MakeModelCommand.class,
            EvalCommand.class,
            DemoCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Peft4jCli implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
            names = {"-v", "--verbose"},
            scope = ScopeType.INHERIT,
            description = "Print stack traces of errors.")
    boolean verbose;

    /**
     * Sets PyTorch's intra-op thread count; read when the engine starts, so it applies to the
     * command line's first (and only) command.
     *
     * @param threads threads, positive
     */
    @Option(
            names = "--threads",
            scope = ScopeType.INHERIT,
            paramLabel = "N",
            description = "PyTorch compute threads (default: PyTorch's choice, one per core). On a machine"
                    + " shared with other work, 1 can be much faster for training.")
    void setThreads(int threads) {
        if (threads <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be positive, got " + threads);
        }
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
    }

    /**
     * Runs the tool and exits with its exit code.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        defaultProperty("ai.djl.offline", "true");
        defaultProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // DJL warns on every start that it found no usable CUDA driver; the CLI runs on CPU.
        defaultProperty("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error");
        System.exit(new CommandLine(new Peft4jCli()).execute(args));
    }

    private static void defaultProperty(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** Without a subcommand: a usage error. */
    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing required subcommand");
    }
}
