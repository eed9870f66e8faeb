package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.AtomicDirectory;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.quant.nn.HfQuantizationConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code peft4j merge --model M --adapter DIR --out OUT}: merges a LoRA adapter into its base
 * model and writes a plain Hugging Face model directory that loads without peft4j's LoRA support
 * (in peft4j, and in transformers).
 *
 * <p>{@code OUT} holds {@code config.json} (the base's; for {@code builtin:all-minilm-l6-v2} its
 * Hugging Face config), {@code model.safetensors} (F32, Hugging Face names) and the tokenizer files
 * the base has ({@code tokenizer.json}, ...). A BERT adapter with {@code modules_to_save} (a
 * classifier, task {@code SEQ_CLS}) exports the whole {@code BertForSequenceClassification}:
 * {@code bert.*} and {@code classifier.*}, labels from the adapter's {@code labels.json}. The
 * directory is built beside {@code OUT} and renamed into place; an existing non-empty {@code OUT} is
 * refused.
 */
@Command(
        name = "merge",
        mixinStandardHelpOptions = true,
        description = {
            "Merge a LoRA adapter into its base model and write a Hugging Face model directory:"
                    + " config.json, model.safetensors (float32, Hugging Face names) and the base's"
                    + " tokenizer files.",
            "M is builtin:all-minilm-l6-v2 or a model directory (bert, llama, qwen2, mistral)."
                    + " An adapter with modules_to_save on BERT (task SEQ_CLS) exports a"
                    + " BertForSequenceClassification with id2label from the adapter's labels.json.",
            "OUT must not exist or be empty; it appears complete or not at all. BF16/F16 bases"
                    + " are exported as float32.",
            "An adapter trained with --quantize (QLoRA) is merged with the same --quantize options: the"
                    + " base is quantized as in training, dequantized, and the adapter merged in float32."
                    + " A directory saved quantized (peft4j quantize, transformers' bitsandbytes layout) is"
                    + " merged the same way, without --quantize."
        })
final class MergeCommand extends CliCommand {

    /** Tokenizer and generation files copied from a model directory when present. */
    static final List<String> SIDE_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model",
            "added_tokens.json", "generation_config.json");

    @Option(names = "--model", required = true, paramLabel = "M", description = "Base model id or directory.")
    String model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT LoRA adapter directory.")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "OUT",
            description = "Output directory (absent or empty; written atomically).")
    Path out;

    /** An adapter trained over a 4-bit base (QLoRA) is merged into that base's dequantized weights. */
    @Mixin QuantizeOptions quantize;

    /** A loaded base: the model, its config and names, and where its tokenizer comes from. */
    private record Base(Module model, ObjectNode config, List<String> names, BuiltinModel builtin, Path dir) {}

    @Override
    int run() throws Exception {
        LoraConfig adapterConfig = AdapterInput.readConfig(adapter);
        quantize.config();
        int tensors;
        try (AtomicDirectory target = AtomicDirectory.create(out);
                NDManager manager = NDManager.newBaseManager()) {
            Base base = load(adapterConfig, manager);
            PeftModel<?> peft = AdapterInput.load(base.model(), adapter, base.names(), manager,
                    spec.commandLine().getErr());
            // over a 4-bit base: dequantized to float32 and merged there, so the export computes what was trained
            Module merged = peft.mergeAndUnloadDense(true);
            ObjectNode config = base.config();
            if (merged instanceof BertForSequenceClassification cls) {
                config = classifierConfig(config, cls.labels(), cls.pooling());
            }
            tensors = MergedModelWriter.write(merged, config, target.path());
            copyTokenizer(base, target.path());
            target.commit();
        }
        out().printf(Locale.ROOT, "merged %s into %s%s: %s (%d tensors, float32)%n", adapter, model,
                quantize.enabled() ? " (dequantized " + quantize.describe() + " base)" : "", out, tensors);
        out().flush();
        return 0;
    }

    private Base load(LoraConfig adapterConfig, NDManager manager) throws IOException {
        HfConfig hf;
        BuiltinModel builtin = null;
        Path dir = null;
        if (Builtins.isBuiltin(model)) {
            builtin = Builtins.get(model);
            hf = HfConfig.of(builtin.config(), model);
        } else {
            dir = Path.of(model);
            if (!Files.isDirectory(dir)) {
                throw new NoSuchFileException(model, null,
                        "--model must be " + String.join(" or ", Builtins.ids()) + " or a Hugging Face model directory");
            }
            hf = HfConfig.read(dir);
        }
        List<String> names = EncoderModel.names(model, hf);
        String type = hf.modelType();
        // 4 bits with --quantize or when saved quantized; the merge and the export are dense either way
        ObjectNode config = hf.json().deepCopy();
        config.remove(HfQuantizationConfig.KEY);
        if (LlamaConfig.TYPES.contains(type)) {
            return new Base(quantize.loadLlama(dir, manager), config, names, builtin, dir);
        }
        try (TensorSource weights = builtin != null ? builtin.openWeights() : TensorSources.open(dir)) {
            Module m;
            if (type.equals("bert")) {
                m = classifies(adapterConfig) ? classifier(weights, hf, manager)
                        : BertModel.load(weights, hf, manager, quantize.weightLoader(hf));
            } else {
                throw new ConfigException(hf.source() + ": model_type '" + type + "' is not supported by merge"
                        + " (bert, " + String.join(", ", LlamaConfig.TYPES) + ")");
            }
            return new Base(m, config, names, builtin, dir);
        }
    }

    /** Whether a BERT adapter carries a classification head: task SEQ_CLS or a saved classifier. */
    private static boolean classifies(LoraConfig c) {
        return "SEQ_CLS".equals(c.taskType())
                || (c.modulesToSave() != null && c.modulesToSave().contains("classifier"));
    }

    private BertForSequenceClassification classifier(TensorSource weights, HfConfig hf, NDManager manager)
            throws IOException {
        BertForSequenceClassification.Loader loader = BertForSequenceClassification.loader()
                .setCheckpoint(weights, hf).setManager(manager).optWeightLoader(quantize.weightLoader(hf));
        Optional<List<String>> labels = AdapterLabels.read(adapter);
        labels.ifPresent(loader::optLabels);
        loader.optPooling(AdapterLabels.pooling(adapter));
        BertForSequenceClassification cls = loader.load();
        if (cls.pooling() == Pooling.POOLER
                && cls.newlyInitialized().stream().anyMatch(p -> p.startsWith("bert.pooler."))) {
            throw new ConfigException(weights.location() + ": the base has no pooler (pooler.dense.weight), which"
                    + " the exported BertForSequenceClassification would need");
        }
        return cls;
    }

    /**
     * The classifier's config: architectures, {@code id2label} and {@code label2id}, as transformers
     * saves it, and the pooling under {@link Pooling#CONFIG_KEY} when it is not the pooler.
     */
    private static ObjectNode classifierConfig(ObjectNode base, List<String> labels, Pooling pooling) {
        ObjectNode c = base.deepCopy();
        if (pooling != Pooling.POOLER) {
            c.put(Pooling.CONFIG_KEY, pooling.name().toLowerCase(Locale.ROOT));
        }
        c.putArray("architectures").add("BertForSequenceClassification");
        c.remove("num_labels");
        ObjectNode id2label = c.putObject("id2label");
        ObjectNode label2id = c.putObject("label2id");
        for (int i = 0; i < labels.size(); i++) {
            id2label.put(Integer.toString(i), labels.get(i));
            label2id.put(labels.get(i), i);
        }
        return c;
    }

    private static void copyTokenizer(Base base, Path target) throws IOException {
        if (base.builtin() != null) {
            Files.writeString(target.resolve("tokenizer.json"), base.builtin().tokenizerJson(), StandardCharsets.UTF_8);
            return;
        }
        for (String f : SIDE_FILES) {
            Path p = base.dir().resolve(f);
            if (Files.isRegularFile(p)) {
                Files.copy(p, target.resolve(f));
            }
        }
    }
}
