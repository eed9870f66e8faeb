package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.AtomicDirectory;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.HfModelWriter;
import dev.peft4j.core.model.PretrainedFiles;
import dev.peft4j.core.model.bert.ClassifierConfigJson;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.quant.nn.HfQuantizationConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
                    + " merged the same way, without --quantize.",
            "--streaming (or --dtype/--layers/--tensors/--max-shard-size) merges a model directory tensor by tensor,"
                    + " never holding the model: Hugging Face shards of at most 5GB with"
                    + " model.safetensors.index.json, each tensor in the base's dtype (or --dtype), --layers writing"
                    + " only some decoder layers (a check of a large merge)."
        })
final class MergeCommand extends CliCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "Base model id or directory.")
    String model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "Adapter directory of a mergeable method (lora, ia3,"
            + " bitfit); prompt, p-tuning, prefix and bottleneck adapters cannot be merged (an error, nothing written).")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "OUT",
            description = "Output directory (absent or empty; written atomically).")
    Path out;

    /** An adapter trained over a 4-bit base (QLoRA) is merged into that base's dequantized weights. */
    @Mixin QuantizeOptions quantize;

    /** {@code --streaming} and its options: the merge tensor by tensor, for large checkpoints. */
    @Mixin StreamingMergeOptions streaming;

    /** A loaded base: the model, its config and names, and where its tokenizer comes from. */
    private record Base(Module model, ObjectNode config, List<String> names, PretrainedFiles files) {}

    @Override
    int run() throws Exception {
        PeftConfig adapterConfig = AdapterInput.readConfig(adapter);
        AdapterInput.checkMergeable(adapterConfig, adapter);
        quantize.config();
        if (streaming.enabled()) {
            return streaming.run(model, adapter, out, quantize.config(), out());
        }
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
                config = ClassifierConfigJson.of(config, cls.labels(), cls.pooling());
            }
            HfModelWriter.checkPlain(merged);
            tensors = HfModelWriter.write(merged, config, target.path());
            for (Map.Entry<String, byte[]> f : base.files().tokenizerFiles().entrySet()) {
                Files.write(target.path().resolve(f.getKey()), f.getValue());
            }
            target.commit();
        }
        out().printf(Locale.ROOT, "merged %s into %s%s: %s (%d tensors, float32)%n", adapter, model,
                quantize.enabled() ? " (dequantized " + quantize.describe() + " base)" : "", out, tensors);
        out().flush();
        return 0;
    }

    private Base load(PeftConfig adapterConfig, NDManager manager) throws IOException {
        PretrainedFiles files = ModelFiles.resolve(model).files();
        HfConfig hf = files.config();
        List<String> names = files.names();
        String type = hf.modelType();
        // 4 bits with --quantize or when saved quantized; the merge and the export are dense either way
        ObjectNode config = hf.json().deepCopy();
        config.remove(HfQuantizationConfig.KEY);
        if (LlamaConfig.TYPES.contains(type)) {
            return new Base(quantize.loadLlama(Path.of(model), manager), config, names, files);
        }
        try (TensorSource weights = files.openWeights()) {
            Module m;
            if (type.equals("bert")) {
                m = classifies(adapterConfig) ? classifier(weights, hf, manager)
                        : BertModel.load(weights, hf, manager, quantize.weightLoader(hf));
            } else {
                throw new ConfigException(hf.source() + ": model_type '" + type + "' is not supported by merge"
                        + " (bert, " + String.join(", ", LlamaConfig.TYPES) + ")");
            }
            return new Base(m, config, names, files);
        }
    }

    /** Whether a BERT adapter carries a classification head: task SEQ_CLS or a saved classifier. */
    private static boolean classifies(PeftConfig c) {
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
}
