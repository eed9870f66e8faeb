package dev.peft4j.examples.cli;

import dev.peft4j.core.train.BnbAdamW;
import dev.peft4j.core.train.OptimizerType;
import dev.peft4j.core.train.ParameterOptimizer;
import dev.peft4j.core.train.Sgd;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The optimizer options of {@code train} and {@code demo}: {@code --optim
 * adamw|adamw-8bit|paged-adamw|paged-adamw-8bit|sgd}, with {@code --optim-paging-dir} (paged
 * states in memory-mapped files there), {@code --optim-min-8bit-size} and {@code --sgd-momentum}.
 * The optimizers are the library's ({@link OptimizerType}, {@link BnbAdamW}, {@link Sgd}).
 * Example programs outside picocli read the same options with {@link #parse}.
 */
public final class OptimizerOptions {

    @Option(names = "--optim", defaultValue = "adamw", paramLabel = "NAME",
            description = "Optimizer: adamw (torch.optim.AdamW), adamw-8bit (bitsandbytes AdamW8bit: 8-bit states"
                    + " for tensors of 4,096+ elements), paged-adamw, paged-adamw-8bit (states off the Java heap),"
                    + " sgd (default ${DEFAULT-VALUE}). The AdamW family uses weight decay 0.01.")
    String name;

    @Option(names = "--optim-paging-dir", paramLabel = "DIR",
            description = "paged-*: keep the optimizer states in memory-mapped files created (and unlinked) in DIR"
                    + " instead of off-heap memory.")
    Path pagingDir;

    @Option(names = "--optim-min-8bit-size", paramLabel = "N",
            description = "*-8bit: tensors with fewer elements keep float32 states (default "
                    + BnbAdamW.MIN_8BIT_SIZE + ", as bitsandbytes; LoRA r=8 matrices on MiniLM are smaller).")
    Long min8bitSize;

    @Option(names = "--sgd-momentum", paramLabel = "X",
            description = "sgd: momentum factor in [0, 1) (default 0: plain SGD).")
    Double sgdMomentum;

    /**
     * Reads these options out of a command line that holds other arguments too (which are left
     * alone), for example programs that do not use picocli.
     *
     * @param args the whole command line, e.g. {@code --method lora --optim adamw-8bit --optim-min-8bit-size 0}
     * @return the options; {@code --optim} defaults to {@code adamw}
     * @throws picocli.CommandLine.ParameterException when one of these options lacks its value or
     *     the value has the wrong type
     */
    public static OptimizerOptions parse(String... args) {
        OptimizerOptions options = new OptimizerOptions();
        new CommandLine(options).setUnmatchedArgumentsAllowed(true).parseArgs(args);
        return options;
    }

    /** @return the {@code --optim} name as given */
    public String name() {
        return name;
    }

    /**
     * @return the optimizer the options name
     * @throws IllegalArgumentException for an unknown name or an option that does not apply to it
     */
    public ParameterOptimizer optimizer() {
        OptimizerType type = OptimizerType.fromName(name);
        boolean paged = type == OptimizerType.PAGED_ADAMW || type == OptimizerType.PAGED_ADAMW_8BIT;
        boolean eightBit = type == OptimizerType.ADAMW_8BIT || type == OptimizerType.PAGED_ADAMW_8BIT;
        if (pagingDir != null && !paged) {
            throw new IllegalArgumentException("--optim-paging-dir needs --optim paged-adamw or paged-adamw-8bit");
        }
        if (min8bitSize != null && !eightBit) {
            throw new IllegalArgumentException("--optim-min-8bit-size needs --optim adamw-8bit or paged-adamw-8bit");
        }
        if (sgdMomentum != null && type != OptimizerType.SGD) {
            throw new IllegalArgumentException("--sgd-momentum needs --optim sgd");
        }
        if (type == OptimizerType.SGD) {
            return sgdMomentum == null ? type.create() : Sgd.builder().optMomentum(sgdMomentum).build();
        }
        if (!paged && !eightBit) {
            return type.create();
        }
        BnbAdamW.Builder b = BnbAdamW.builder().optBits(eightBit ? 8 : 32).optPaged(paged)
                .optPagingDirectory(pagingDir);
        if (min8bitSize != null) {
            b.optMin8bitSize(min8bitSize);
        }
        return b.build();
    }
}
