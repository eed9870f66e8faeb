package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.peft.MethodRecipes;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraRecipe;
import dev.peft4j.tuners.bitfit.BitFitConfig;
import dev.peft4j.tuners.bitfit.BitFitRecipe;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.bottleneck.BottleneckPreset;
import dev.peft4j.tuners.bottleneck.BottleneckRecipe;
import dev.peft4j.tuners.ia3.Ia3Config;
import dev.peft4j.tuners.ia3.Ia3Recipe;
import dev.peft4j.tuners.prompt.PTuningRecipe;
import dev.peft4j.tuners.prompt.PrefixTuningConfig;
import dev.peft4j.tuners.prompt.PrefixTuningRecipe;
import dev.peft4j.tuners.prompt.PromptEncoderConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import dev.peft4j.tuners.prompt.PromptTuningInit;
import dev.peft4j.tuners.prompt.PromptTuningRecipe;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --method} and each method's options, for {@code train} and {@code demo}. The method is a
 * {@link MethodRecipe} found by name ({@link MethodRecipes}); an option the user leaves out takes its
 * value from the method's recipe (its module's defaults, e.g. {@link LoraRecipe}); an option of
 * another method is an error naming the option and the method. A method whose recipe is on the class
 * path but that has no options here trains with its recipe's configuration.
 */
final class MethodOptions {

    private static final String METHODS = "lora|ia3|prompt-tuning|p-tuning|prefix-tuning|bottleneck|bitfit";

    /** The methods with options here, in the order the command line lists them. */
    private static final List<String> ORDER = List.of(LoraRecipe.NAME, Ia3Recipe.NAME, PromptTuningRecipe.NAME,
            PTuningRecipe.NAME, PrefixTuningRecipe.NAME, BottleneckRecipe.NAME, BitFitRecipe.NAME);

    @Spec(Spec.Target.MIXEE) CommandSpec mixee;

    @Option(names = "--method", paramLabel = METHODS, converter = MethodConverter.class,
            description = "The PEFT method (default lora). Each has its own options below; the learning rate and"
                    + " epochs default per method (its module's recipe: lora 1e-3, ia3 1e-2, prompt-tuning 3e-2,"
                    + " p-tuning 1e-2, prefix-tuning 1e-2, bottleneck 2e-3, bitfit 5e-3; 3 epochs).")
    MethodRecipe method;

    @Option(names = "--target-modules", split = ",", paramLabel = "NAMES",
            description = "lora, ia3: layers to adapt, comma-separated module names (lora default: query,value for"
                    + " classify, q_proj,v_proj for causal-lm; ia3 default: PEFT's per-family targets).")
    List<String> targetModules;

    @Option(names = "--lora-r", paramLabel = "R", description = "lora: rank (default " + LoraRecipe.R + ").")
    Integer r;

    @Option(names = "--lora-alpha", paramLabel = "A",
            description = "lora: alpha; the update is scaled by alpha/r (default 16).")
    Double alpha;

    @Option(names = "--lora-dropout", paramLabel = "P",
            description = "lora: dropout on the LoRA input in training (default " + LoraRecipe.DROPOUT + ").")
    Double dropout;

    @Option(names = "--feedforward-modules", split = ",", paramLabel = "NAMES",
            description = "ia3: the targets whose input (not output) is scaled (default: PEFT's per-family list).")
    List<String> feedforwardModules;

    @Option(names = "--num-virtual-tokens", paramLabel = "N",
            description = "prompt-tuning, p-tuning, prefix-tuning: virtual tokens (default "
                    + PromptTuningRecipe.VIRTUAL_TOKENS + ").")
    Integer numVirtualTokens;

    @Option(names = "--prompt-init", paramLabel = "random|text|sample-vocab",
            description = "prompt-tuning: initialization of the virtual tokens (default random; text needs"
                    + " --prompt-init-text).")
    String promptInit;

    @Option(names = "--prompt-init-text", paramLabel = "TEXT",
            description = "prompt-tuning: the text whose token embeddings start the prompt (implies --prompt-init"
                    + " text; tokenized with the tokenizer.json of the --model directory).")
    String promptInitText;

    @Option(names = "--encoder-hidden-size", paramLabel = "H",
            description = "p-tuning: the MLP's hidden size (default " + PTuningRecipe.ENCODER_HIDDEN_SIZE
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

    /** Accepts the methods' names and {@code peft_type}s. */
    static final class MethodConverter implements CommandLine.ITypeConverter<MethodRecipe> {
        @Override
        public MethodRecipe convert(String value) {
            try {
                return MethodRecipes.forName(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("unknown method '" + value + "' (expected "
                        + String.join("|", names()) + ")");
            }
        }
    }

    /** @return the known methods' names: those with options here in their order, then any others */
    static List<String> names() {
        List<String> names = new ArrayList<>(ORDER);
        names.retainAll(MethodRecipes.names());
        MethodRecipes.names().stream().filter(n -> !ORDER.contains(n)).forEach(names::add);
        return names;
    }

    /** @return the chosen method's recipe */
    MethodRecipe method() {
        return method == null ? MethodRecipes.forName(LoraRecipe.NAME) : method;
    }

    /** @return whether the chosen method is LoRA */
    boolean isLora() {
        return method().name().equals(LoraRecipe.NAME);
    }

    /**
     * Checks that every method option given belongs to {@link #method()}.
     *
     * @throws IllegalArgumentException naming the first foreign option and the method
     */
    void check() {
        String m = method().name();
        for (Map.Entry<String, List<String>> e : given().entrySet()) {
            if (!e.getValue().contains(m)) {
                throw new IllegalArgumentException(e.getKey() + " is not an option of --method " + m
                        + " (it belongs to " + String.join(", ", e.getValue()) + ")");
            }
        }
        if (m.equals(PrefixTuningRecipe.NAME) && encoderHiddenSize != null && !Boolean.TRUE.equals(prefixProjection)) {
            throw new IllegalArgumentException("--encoder-hidden-size needs --prefix-projection with --method"
                    + " prefix-tuning (the hidden size is the projection MLP's)");
        }
    }

    /** The method options given on the command line, with the methods each belongs to. */
    private Map<String, List<String>> given() {
        Map<String, List<String>> g = new LinkedHashMap<>();
        List<String> prompts = List.of(PromptTuningRecipe.NAME, PTuningRecipe.NAME, PrefixTuningRecipe.NAME);
        put(g, targetModules, "--target-modules", List.of(LoraRecipe.NAME, Ia3Recipe.NAME));
        put(g, r, "--lora-r", List.of(LoraRecipe.NAME));
        put(g, alpha, "--lora-alpha", List.of(LoraRecipe.NAME));
        put(g, dropout, "--lora-dropout", List.of(LoraRecipe.NAME));
        put(g, feedforwardModules, "--feedforward-modules", List.of(Ia3Recipe.NAME));
        put(g, numVirtualTokens, "--num-virtual-tokens", prompts);
        put(g, promptInit, "--prompt-init", List.of(PromptTuningRecipe.NAME));
        put(g, promptInitText, "--prompt-init-text", List.of(PromptTuningRecipe.NAME));
        put(g, encoderHiddenSize, "--encoder-hidden-size", List.of(PTuningRecipe.NAME, PrefixTuningRecipe.NAME));
        put(g, prefixProjection, "--prefix-projection", List.of(PrefixTuningRecipe.NAME));
        put(g, bottleneck, "--bottleneck", List.of(BottleneckRecipe.NAME));
        put(g, reductionFactor, "--reduction-factor", List.of(BottleneckRecipe.NAME));
        put(g, nonLinearity, "--non-linearity", List.of(BottleneckRecipe.NAME));
        put(g, biasTerms, "--bias-terms", List.of(BitFitRecipe.NAME));
        return g;
    }

    private static void put(Map<String, List<String>> g, Object value, String option, List<String> owners) {
        if (value != null) {
            g.put(option, owners);
        }
    }

    /**
     * Builds the configuration once, so that bad option values fail before any model is loaded or
     * file written.
     *
     * @param taskType PEFT's {@code task_type}
     * @param modelId {@code base_model_name_or_path}
     * @param modelDir the model directory, or null for a builtin
     * @throws IllegalArgumentException naming the option or field
     */
    void validate(String taskType, String modelId, Path modelDir) {
        config(taskType, List.of(), modelId, modelDir);
    }

    /**
     * The method's learning rate and epochs where {@code --lr} / {@code --epochs} were not given.
     *
     * @param run the run options, changed in place
     */
    void applyTrainingDefaults(RunOptions run) {
        CommandLine.ParseResult parsed = mixee.commandLine().getParseResult();
        MethodRecipe t = method();
        if (parsed == null || !parsed.hasMatchedOption("--lr")) {
            run.lr = t.learningRate();
        }
        if (parsed == null || !parsed.hasMatchedOption("--epochs")) {
            run.epochs = t.epochs();
        }
    }

    /**
     * The configuration: the method's recipe with the options given.
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
        return switch (method().name()) {
            case LoraRecipe.NAME -> {
                LoraConfig.Builder b = LoraRecipe.builder(taskType).optModulesToSave(save)
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
            case Ia3Recipe.NAME -> {
                Ia3Config.Builder b = Ia3Recipe.builder(taskType).optModulesToSave(save).optBaseModelNameOrPath(modelId);
                if (targetModules != null && !targetModules.isEmpty()) {
                    b.setTargetModules(targetModules.toArray(new String[0]));
                }
                if (feedforwardModules != null) {
                    b.setFeedforwardModules(feedforwardModules.toArray(new String[0]));
                }
                yield b.build();
            }
            case PromptTuningRecipe.NAME -> {
                PromptTuningConfig.Builder b = PromptTuningRecipe.builder(taskType).optModulesToSave(save)
                        .optBaseModelNameOrPath(modelId);
                if (numVirtualTokens != null) {
                    b.setNumVirtualTokens(numVirtualTokens);
                }
                PromptTuningInit init = promptInit();
                if (init != null) {
                    b.optPromptTuningInit(init);
                }
                if (init == PromptTuningInit.TEXT) {
                    if (promptInitText == null) {
                        throw new IllegalArgumentException("--prompt-init text needs --prompt-init-text");
                    }
                    if (modelDir == null) {
                        throw new IllegalArgumentException("--prompt-init text needs a model directory with"
                                + " tokenizer.json (--model " + modelId + " is builtin); use --prompt-init random or"
                                + " sample-vocab");
                    }
                    b.optPromptTuningInitText(promptInitText).optTokenizerNameOrPath(modelDir.toString());
                } else if (promptInitText != null) {
                    throw new IllegalArgumentException("--prompt-init-text needs --prompt-init text, got --prompt-init "
                            + promptInit);
                }
                yield b.build();
            }
            case PTuningRecipe.NAME -> {
                PromptEncoderConfig.Builder b = PTuningRecipe.builder(taskType).optModulesToSave(save)
                        .optBaseModelNameOrPath(modelId);
                if (numVirtualTokens != null) {
                    b.setNumVirtualTokens(numVirtualTokens);
                }
                if (encoderHiddenSize != null) {
                    b.optEncoderHiddenSize(encoderHiddenSize);
                }
                yield b.build();
            }
            case PrefixTuningRecipe.NAME -> {
                PrefixTuningConfig.Builder b = PrefixTuningRecipe.builder(taskType).optModulesToSave(save)
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
            case BottleneckRecipe.NAME -> {
                BottleneckConfig.Builder b = BottleneckRecipe.builder(preset(), taskType).optModulesToSave(save);
                if (reductionFactor != null) {
                    b.optReductionFactor(reductionFactor == Math.rint(reductionFactor) && reductionFactor < 1e9
                            ? (Number) reductionFactor.intValue() : reductionFactor);
                }
                if (nonLinearity != null) {
                    b.optNonLinearity(nonLinearity);
                }
                yield b.build();
            }
            case BitFitRecipe.NAME -> {
                BitFitConfig.Builder b = BitFitRecipe.builder(taskType).optModulesToSave(save)
                        .optBaseModelNameOrPath(modelId);
                if (biasTerms != null) {
                    b.setTargetModules(BitFitRecipe.biasTerms(biasTerms));
                }
                yield b.build();
            }
            default -> method().defaultConfig(taskType, save);
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
        return bottleneck == null ? BottleneckRecipe.PRESET : BottleneckPreset.parse(bottleneck);
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
        return switch (method().name()) {
            case LoraRecipe.NAME -> String.format(Locale.ROOT, "r=%d alpha=%s dropout=%s on %s",
                    r == null ? LoraRecipe.R : r, num(alpha == null ? LoraRecipe.ALPHA : alpha),
                    num(dropout == null ? LoraRecipe.DROPOUT : dropout), String.join(",",
                            targetModules == null ? LoraRecipe.targets(taskType) : targetModules));
            case Ia3Recipe.NAME -> "on " + (targetModules == null ? "PEFT's default targets"
                    : String.join(",", targetModules));
            case PromptTuningRecipe.NAME -> virtualTokens(PromptTuningRecipe.VIRTUAL_TOKENS) + ", init "
                    + (promptInit() == null ? PromptTuningRecipe.INIT : promptInit())
                            .name().toLowerCase(Locale.ROOT).replace('_', '-');
            case PTuningRecipe.NAME -> virtualTokens(PTuningRecipe.VIRTUAL_TOKENS) + ", MLP encoder hidden size "
                    + (encoderHiddenSize == null ? PTuningRecipe.ENCODER_HIDDEN_SIZE : encoderHiddenSize);
            case PrefixTuningRecipe.NAME -> virtualTokens(PrefixTuningRecipe.VIRTUAL_TOKENS) + " per layer, "
                    + ((prefixProjection == null ? PrefixTuningRecipe.PROJECTION : prefixProjection)
                            ? "with" : "without") + " projection";
            case BottleneckRecipe.NAME -> preset().cliName() + (reductionFactor == null ? "" : ", reduction factor "
                    + num(reductionFactor)) + (nonLinearity == null ? "" : ", " + nonLinearity);
            case BitFitRecipe.NAME -> "bias terms " + (biasTerms == null ? BitFitRecipe.BIAS_TERMS : biasTerms);
            default -> "the method's defaults";
        };
    }

    private String virtualTokens(int defaultValue) {
        return (numVirtualTokens == null ? defaultValue : numVirtualTokens) + " virtual tokens";
    }

    static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e6 ? Long.toString((long) v) : Double.toString(v);
    }
}
