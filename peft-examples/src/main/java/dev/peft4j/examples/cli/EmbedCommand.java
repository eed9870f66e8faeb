package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.bert.BertModelOutput;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.text.TokenizedBatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code peft4j embed}: sentence embeddings from a BERT encoder, one JSON object per line per text,
 * {@code {"text": ..., "embedding": [...]}}: the mean of the last hidden states of the non-padding
 * tokens (or the {@code [CLS]} state), L2-normalized only with {@code --normalize}.
 */
@Command(
        name = "embed",
        mixinStandardHelpOptions = true,
        description = {
            "Print sentence embeddings, one JSON object per line per text:"
                    + " {\"text\": ..., \"embedding\": [...]}.",
            "M is builtin:all-minilm-l6-v2 or a Hugging Face model directory (config.json,"
                    + " safetensors weights, tokenizer.json).",
            "With --adapter, the adapter (any method) is loaded onto the model for inference."
        })
final class EmbedCommand extends CliCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "Model id or directory.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "Adapter directory of any method, recognised from its files (PEFT's adapter_config.json"
                    + " peft_type + adapter_model.safetensors, or AdapterHub's adapter_config.json +"
                    + " adapter.safetensors), applied to the model.")
    Path adapter;

    /** A QLoRA adapter runs over the base quantized as in training. */
    @Mixin QuantizeOptions quantize;

    @Option(names = "--pooling", paramLabel = "mean|cls", defaultValue = "mean", converter = PoolingConverter.class,
            description = "mean: masked mean over tokens (default); cls: the [CLS] token's state.")
    Pooling pooling;

    @Option(names = "--normalize", description = "L2-normalize the embeddings.")
    boolean normalize;

    @Option(names = "--text", required = true, paramLabel = "T", description = "A text to embed; repeatable.")
    List<String> texts;

    @Option(names = "--max-length", paramLabel = "N", defaultValue = "0",
            description = "Tokens per text, special tokens included; longer texts are truncated"
                    + " (default: 256 for the builtin, else max_position_embeddings).")
    int maxLength;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "32", description = "Texts per forward pass.")
    int batchSize;

    @Override
    int run() throws Exception {
        if (batchSize <= 0 || maxLength < 0) {
            throw new IllegalArgumentException("--batch-size must be positive and --max-length not negative");
        }
        quantize.config();
        ObjectMapper json = new ObjectMapper();
        PrintWriter out = out();
        try (NDManager manager = NDManager.newBaseManager();
                EncoderModel encoder = EncoderModel.load(model, maxLength, manager, quantize::weightLoader)) {
            if (adapter != null) {
                AdapterInput.load(encoder.model(), adapter, encoder.names(), manager, spec.commandLine().getErr());
            }
            ParameterStore ps = new ParameterStore(manager, false);
            for (int start = 0; start < texts.size(); start += batchSize) {
                List<String> batch = texts.subList(start, Math.min(texts.size(), start + batchSize));
                try (NDManager scope = manager.newSubManager()) {
                    TokenizedBatch tokens = encoder.tokenizer().encodeBatch(batch);
                    NDArray mask = tokens.attentionMaskArray(scope);
                    BertModelOutput o = encoder.model().forward(ps, tokens.idsArray(scope), mask,
                            tokens.typeIdsArray(scope), false);
                    NDArray e = pooling.pool(o, mask);
                    if (normalize) {
                        e = e.div(e.norm(new int[] {1}, true).maximum(1e-12f));
                    }
                    float[] values = e.toFloatArray();
                    int h = (int) e.getShape().get(1);
                    for (int i = 0; i < batch.size(); i++) {
                        ObjectNode line = json.createObjectNode().put("text", batch.get(i));
                        ArrayNode arr = line.putArray("embedding");
                        for (int k = 0; k < h; k++) {
                            arr.add(values[i * h + k]);
                        }
                        out.println(json.writeValueAsString(line));
                    }
                }
            }
        }
        out.flush();
        return 0;
    }

    /** Accepts {@code mean} and {@code cls}, any case. */
    static final class PoolingConverter implements CommandLine.ITypeConverter<Pooling> {
        @Override
        public Pooling convert(String value) {
            String v = value.toLowerCase(Locale.ROOT);
            if (v.equals("mean")) {
                return Pooling.MEAN;
            }
            if (v.equals("cls")) {
                return Pooling.CLS;
            }
            throw new CommandLine.TypeConversionException("expected mean or cls, got '" + value + "'");
        }
    }
}
