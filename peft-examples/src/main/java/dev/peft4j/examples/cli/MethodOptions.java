package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.examples.methods.BottleneckPreset;
import dev.peft4j.examples.methods.MethodDefaults;
import dev.peft4j.examples.methods.TuningMethod;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.tuners.bitfit.BitFitConfig;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.ia3.Ia3Config;
import dev.peft4j.tuners.prompt.PrefixTuningConfig;
import dev.peft4j.tuners.prompt.PromptEncoderConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import dev.peft4j.tuners.prompt.PromptTuningInit;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code --method} and each method's options, for {@code train} and {@code demo}. An option the
 * user leaves out takes its value from {@link MethodDefaults}; an option of another method is an
 * error naming the option and the method.
 */
final class MethodOptions {

    private static final String METHODS = "lora|ia3|prompt-tuning|p-tuning|prefix-tuning|bottleneck|bitfit";

    @Spec(Spec.Target.MIXEE) CommandSpec mixee;

    @Option(names = "--method", paramLabel = METHODS, converter = MethodConverter.class,
            description = "The PEFT method (default lora). Each has its own options below; the learning rate and"
                    + " epochs default per method (MethodDefaults: lora 1e-3, ia3 3e-3, prompt-tuning 3e-2,"
                    + " p-tuning 3e-3, prefix-tuning 1e-2, bottleneck 1e-3, bitfit 1e-3; 3 epochs).")
    TuningMethod method;

    @Option(names = "--target-modules", split = ",", paramLabel = "NAMES",
            description = "lora, ia3: layers to adapt, comma-separated module names (lora default: query,value for"
                    + " classify, q_proj,v_proj for causal-lm; ia3 default: PEFT's per-family targets).")
    List<String> targetModules;

    @Option(names = "--lora-r", paramLabel = "R", description = "lora: rank (default " + MethodDefaults.LORA_R + ").")
    Integer r;

    @Option(names = "--lora-alpha", paramLabel = "A",
            description = "lora: alpha; the update is scaled by alpha/r (default 16).")
    Double alpha;

    @Option(names = "--lora-dropout", paramLabel = "P",
            description = "lora: dropout on the LoRA input in training (default " + MethodDefaults.LORA_DROPOUT + ").")
    Double dropout;

    @Option(names = "--feedforward-modules", split = ",", paramLabel = "NAMES",
            description = "ia3: the targets whose input (not output) is scaled (default: PEFT's per-family list).")
    List<String> feedforwardModules;

    @Option(names = "--num-virtual-tokens", paramLabel = "N",
            description = "prompt-tuning, p-tuning, prefix-tuning: virtual tokens (default "
                    + MethodDefaults.PROMPT_TUNING_VIRTUAL_TOKENS + ").")
    Integer numVirtualTokens;

    @Option(names = "--prompt-init", paramLabel = "random|text|sample-vocab",
            description = "prompt-tuning: initialization of the virtual tokens (default random; text needs"
                    + " --prompt-init-text).")
    String promptInit;

    @Option(names = "--prompt-init-text", paramLabel = "TEXT",
            description = "prompt-tuning: the text whose token embeddings start the prompt (implies --prompt-init"
                    + " text).")
    String promptInitText;

    @Option(names = "--encoder-hidden-size", paramLabel = "H",
            description = "p-tuning: the MLP's hidden size (default " + MethodDefaults.P_TUNING_ENCODER_HIDDEN_SIZE
                    + "); prefix-tuning with --prefix-projection: the projection's hidden size (default: the"
                    + " model's).")
    Integer encoderHiddenSize;

    @Option(names = "--prefix-projection",
            description = "prefix-tuning: reparameterize the prefix through PEFT's projection MLP while training.")
    Boolean prefixProjection;

    @Option(names = "--bottleneck", paramLabel = "seq-bn|double-seq-bn|par-bn",
            description = "bottleneck: AdapterHub's preset: seq-bn (Pfeiffer, default), double-seq-bn (Houlsby),"
                    + " par-bn (parallel).")
    String bottleneck;

    @Option(names = "--reduction-factor", paramLabel = "F",
            description = "bottleneck: hidden size / bottleneck width (default: the preset's, 16 or 2 for par-bn).")
    Double reductionFactor;

    @Option(names = "--non-linearity", paramLabel = "NAME",
            description = "bottleneck: relu, swish, gelu, tanh, … (default: the preset's).")
    String nonLinearity;

    @Option(names = "--bias-terms", paramLabel = "all|query-intermediate|NAMES",
            description = "bitfit: the biases that train: all (default), query-intermediate (the paper's subset) or"
                    + " comma-separated module names.")
    String biasTerms;

    /** Accepts the command-line names and {@code peft_type}s. */
    static final class MethodConverter implements CommandLine.ITypeConverter<TuningMethod> {
        @Override
        public TuningMethod convert(String value) {
            try {
                return TuningMethod.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** @return the chosen method */
    TuningMethod method() {
        return method == null ? TuningMethod.LORA : method;
    }

    /**
     * Checks that every method option given belongs to {@link #method()}.
     *
     * @throws IllegalArgumentException naming the first foreign option and the method
     */
    void check() {
        TuningMethod m = method();
        for (Map.Entry<String, Set<TuningMethod>> e : given().entrySet()) {
            if (!e.getValue().contains(m)) {
                throw new IllegalArgumentException(e.getKey() + " is not an option of --method " + m.cliName()
                        + " (it belongs to " + String.join(", ", e.getValue().stream().map(TuningMethod::cliName)
                        .toList()) + ")");
            }
        }
        if (m == TuningMethod.PREFIX_TUNING && encoderHiddenSize != null && !Boolean.TRUE.equals(prefixProjection)) {
            throw new IllegalArgumentException("--encoder-hidden-size needs --prefix-projection with --method"
                    + " prefix-tuning (the hidden size is the projection MLP's)");
        }
    }

    /** The method options given on the command line, with the methods each belongs to. */
    private Map<String, Set<TuningMethod>> given() {
        Map<String, Set<TuningMethod>> g = new LinkedHashMap<>();
        Set<TuningMethod> prompts = Set.of(TuningMethod.PROMPT_TUNING, TuningMethod.P_TUNING,
                TuningMethod.PREFIX_TUNING);
        put(g, targetModules, "--target-modules", Set.of(TuningMethod.LORA, TuningMethod.IA3));
        put(g, r, "--lora-r", Set.of(TuningMethod.LORA));
        put(g, alpha, "--lora-alpha", Set.of(TuningMethod.LORA));
        put(g, dropout, "--lora-dropout", Set.of(TuningMethod.LORA));
        put(g, feedforwardModules, "--feedforward-modules", Set.of(TuningMethod.IA3));
        put(g, numVirtualTokens, "--num-virtual-tokens", prompts);
        put(g, promptInit, "--prompt-init", Set.of(TuningMethod.PROMPT_TUNING));
        put(g, promptInitText, "--prompt-init-text", Set.of(TuningMethod.PROMPT_TUNING));
        put(g, encoderHiddenSize, "--encoder-hidden-size", Set.of(TuningMethod.P_TUNING, TuningMethod.PREFIX_TUNING));
        put(g, prefixProjection, "--prefix-projection", Set.of(TuningMethod.PREFIX_TUNING));
        put(g, bottleneck, "--bottleneck", Set.of(TuningMethod.BOTTLENECK));
        put(g, reductionFactor, "--reduction-factor", Set.of(TuningMethod.BOTTLENECK));
        put(g, nonLinearity, "--non-linearity", Set.of(TuningMethod.BOTTLENECK));
        put(g, biasTerms, "--bias-terms", Set.of(TuningMethod.BITFIT));
        return g;
    }

    private static void put(Map<String, Set<TuningMethod>> g, Object value, String option, Set<TuningMethod> owners) {
        if (value != null) {
            g.put(option, sorted(owners));
        }
    }

    private static Set<TuningMethod> sorted(Set<TuningMethod> s) {
        return new java.util.TreeSet<>(s);
    }

    /**
     * The method's learning rate and epochs where {@code --lr} / {@code --epochs} were not given.
     *
     * @param run the run options, changed in place
     */
    void applyTrainingDefaults(RunOptions run) {
        CommandLine.ParseResult parsed = mixee.commandLine().getParseResult();
        MethodDefaults.Training t = MethodDefaults.training(method());
        if (parsed == null || !parsed.hasMatchedOption("--lr")) {
            run.lr = t.learningRate();
        }
        if (parsed == null || !parsed.hasMatchedOption("--epochs")) {
            run.epochs = t.epochs();
        }
    }

    /**
     * The configuration: {@link MethodDefaults} with the options given.
     *
     * @param taskType PEFT's {@code task_type}
     * @param modulesToSave modules trained whole and saved with the adapter (a classifier head), or empty
     * @param modelId {@code base_model_name_or_path}
     * @param modelDir the model directory, for {@code --prompt-init text}'s tokenizer; null for a builtin
     * @return the configuration
     */
    PeftConfig config(String taskType, List<String> modulesToSave, String modelId, Path modelDir) {
        check();
        List<String> save = modulesToSave.isEmpty() ? null : modulesToSave;
        return switch (method()) {
            case LORA -> {
                LoraConfig.Builder b = MethodDefaults.lora(taskType).optModulesToSave(save)
                        .optBaseModelNameOrPath(modelId);
                if (targetModules != null && !targetModules.isEmpty()) {
                    b.setTargetModules(targetModules.toArray(new String[0]));
                }
                if (r != null) {
                    b.optR(r);
                }
                if (alpha != null) {
                    b.optLoraAlpha(alpha);
                }
                if (dropout != null) {
                    b.optLoraDropout(dropout);
                }
                yield b.build();
            }
            case IA3 -> {
                Ia3Config.Builder b = MethodDefaults.ia3(taskType).optModulesToSave(save).optBaseModelNameOrPath(modelId);
                if (targetModules != null && !targetModules.isEmpty()) {
                    b.setTargetModules(targetModules.toArray(new String[0]));
                }
                if (feedforwardModules != null) {
                    b.setFeedforwardModules(feedforwardModules.toArray(new String[0]));
                }
                yield b.build();
            }
            case PROMPT_TUNING -> {
                PromptTuningConfig.Builder b = MethodDefaults.promptTuning(taskType).optModulesToSave(save)
                        .optBaseModelNameOrPath(modelId);
                if (numVirtualTokens != null) {
                    b.setNumVirtualTokens(numVirtualTokens);
                }
                PromptTuningInit init = promptInit();
                if (init != null) {
                    b.optPromptTuningInit(init);
                }
                if (promptInitText != null) {
                    b.optPromptTuningInitText(promptInitText);
                    if (modelDir != null) {
                        b.optTokenizerNameOrPath(modelDir.toString());
                    }
                }
                yield b.build();
            }
            case P_TUNING -> {
                PromptEncoderConfig.Builder b = MethodDefaults.pTuning(taskType).optModulesToSave(save)
                        .optBaseModelNameOrPath(modelId);
                if (numVirtualTokens != null) {
                    b.setNumVirtualTokens(numVirtualTokens);
                }
                if (encoderHiddenSize != null) {
                    b.optEncoderHiddenSize(encoderHiddenSize);
                }
                yield b.build();
            }
            case PREFIX_TUNING -> {
                PrefixTuningConfig.Builder b = MethodDefaults.prefixTuning(taskType).optModulesToSave(save)
                        .optBaseModelNameOrPath(modelId);
                if (numVirtualTokens != null) {
                    b.setNumVirtualTokens(numVirtualTokens);
                }
                if (prefixProjection != null) {
                    b.optPrefixProjection(prefixProjection);
                }
                if (encoderHiddenSize != null) {
                    b.optEncoderHiddenSize(encoderHiddenSize);
                }
                yield b.build();
            }
            case BOTTLENECK -> {
                BottleneckConfig.Builder b = MethodDefaults.bottleneck(preset(), taskType).optModulesToSave(save);
                if (reductionFactor != null) {
                    b.optReductionFactor(reductionFactor == Math.rint(reductionFactor) && reductionFactor < 1e9
                            ? (Number) reductionFactor.intValue() : reductionFactor);
                }
                if (nonLinearity != null) {
                    b.optNonLinearity(nonLinearity);
                }
                yield b.build();
            }
            case BITFIT -> {
                BitFitConfig.Builder b = MethodDefaults.bitFit(taskType).optModulesToSave(save)
                        .optBaseModelNameOrPath(modelId);
                if (biasTerms != null) {
                    b.setTargetModules(MethodDefaults.biasTerms(biasTerms));
                }
                yield b.build();
            }
        };
    }

    private PromptTuningInit promptInit() {
        if (promptInit == null) {
            return promptInitText == null ? null : PromptTuningInit.TEXT;
        }
        String v = promptInit.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (PromptTuningInit i : PromptTuningInit.values()) {
            if (i.name().equals(v)) {
                return i;
            }
        }
        throw new IllegalArgumentException("--prompt-init must be random, text or sample-vocab, got '" + promptInit
                + "'");
    }

    private BottleneckPreset preset() {
        return bottleneck == null ? MethodDefaults.BOTTLENECK_PRESET : BottleneckPreset.parse(bottleneck);
    }

    /**
     * Freezes the base and injects the adapter.
     *
     * @param base the model, loaded
     * @param taskType PEFT's {@code task_type}
     * @param modulesToSave modules trained whole and saved with the adapter (a classifier head)
     * @param modelId {@code base_model_name_or_path}
     * @param modelDir the model directory, or null for a builtin
     * @param seed initialization seed
     * @param manager owner of the adapter arrays
     * @param <M> the base model's type
     * @return the wrapped model
     */
    <M extends Module> PeftModel<M> wrap(M base, String taskType, List<String> modulesToSave, String modelId,
            Path modelDir, long seed, NDManager manager) {
        return PeftModel.wrap(base, config(taskType, modulesToSave, modelId, modelDir), manager, seed);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return the method's settings in a few words, e.g. {@code r=8 alpha=16 dropout=0.1 on query,value}
     */
    String describe(String taskType) {
        return switch (method()) {
            case LORA -> String.format(Locale.ROOT, "r=%d alpha=%s dropout=%s on %s",
                    r == null ? MethodDefaults.LORA_R : r, num(alpha == null ? MethodDefaults.LORA_ALPHA : alpha),
                    num(dropout == null ? MethodDefaults.LORA_DROPOUT : dropout), String.join(",",
                            targetModules == null ? MethodDefaults.loraTargets(taskType) : targetModules));
            case IA3 -> "on " + (targetModules == null ? "PEFT's default targets" : String.join(",", targetModules));
            case PROMPT_TUNING -> virtualTokens(MethodDefaults.PROMPT_TUNING_VIRTUAL_TOKENS) + ", init "
                    + (promptInit() == null ? MethodDefaults.PROMPT_TUNING_INIT : promptInit())
                            .name().toLowerCase(Locale.ROOT).replace('_', '-');
            case P_TUNING -> virtualTokens(MethodDefaults.P_TUNING_VIRTUAL_TOKENS) + ", MLP encoder hidden size "
                    + (encoderHiddenSize == null ? MethodDefaults.P_TUNING_ENCODER_HIDDEN_SIZE : encoderHiddenSize);
            case PREFIX_TUNING -> virtualTokens(MethodDefaults.PREFIX_TUNING_VIRTUAL_TOKENS) + " per layer, "
                    + ((prefixProjection == null ? MethodDefaults.PREFIX_TUNING_PROJECTION : prefixProjection)
                            ? "with" : "without") + " projection";
            case BOTTLENECK -> preset().cliName() + (reductionFactor == null ? "" : ", reduction factor "
                    + num(reductionFactor)) + (nonLinearity == null ? "" : ", " + nonLinearity);
            case BITFIT -> "bias terms " + (biasTerms == null ? MethodDefaults.BITFIT_BIAS_TERMS : biasTerms);
        };
    }

    private String virtualTokens(int defaultValue) {
        return (numVirtualTokens == null ? defaultValue : numVirtualTokens) + " virtual tokens";
    }

    static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e6 ? Long.toString((long) v) : Double.toString(v);
    }
}
