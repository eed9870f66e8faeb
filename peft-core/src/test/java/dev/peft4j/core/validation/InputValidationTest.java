package dev.peft4j.core.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.ShardedSafetensors;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.nn.Dropout;
import dev.peft4j.core.nn.Embedding;
import dev.peft4j.core.nn.LayerNorm;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.RmsNorm;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.AdapterTrainer;
import dev.peft4j.core.train.Checkpoints;
import dev.peft4j.core.train.LengthBucketBatchSampler;
import dev.peft4j.core.train.RandomBatchSampler;
import dev.peft4j.core.train.TrainingConfig;

import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The public entry points of peft-core reject null, empty and out-of-range arguments with the
 * exception and message listed in {@code docs/reliability.md} (one row per case there).
 */
class InputValidationTest {

    static final Path MISSING = Path.of("/nonexistent/peft4j");

    static Stream<Arguments> cases() {
        return Stream.of(
                c("SafetensorsFile.open(null)", NullPointerException.class, "file", () -> SafetensorsFile.open(null)),
                c("SafetensorsFile.open(missing)", java.nio.file.NoSuchFileException.class, "/nonexistent/peft4j/m.safetensors", () -> SafetensorsFile.open(MISSING.resolve("m.safetensors"))),
                c("ShardedSafetensors.open(null)", NullPointerException.class, "indexFile", () -> ShardedSafetensors.open(null)),
                c("ShardedSafetensors.open(missing)", java.nio.file.NoSuchFileException.class, "/nonexistent/peft4j/i.json", () -> ShardedSafetensors.open(MISSING.resolve("i.json"))),
                c("TensorSources.open(null)", NullPointerException.class, "path", () -> TensorSources.open(null)),
                c("TensorSources.open(missing)", java.nio.file.NoSuchFileException.class, "/nonexistent/peft4j: no such file or directory", () -> TensorSources.open(MISSING)),
                c("SafetensorsWriter.add(null name)", IllegalArgumentException.class, "invalid tensor name 'null'", () -> SafetensorsWriter.create().add(null, DType.F32, new long[] {1}, ByteBuffer.allocate(4))),
                c("SafetensorsWriter.add(empty name)", IllegalArgumentException.class, "invalid tensor name ''", () -> SafetensorsWriter.create().add("", DType.F32, new long[] {1}, ByteBuffer.allocate(4))),
                c("SafetensorsWriter.add(null dtype)", NullPointerException.class, "dtype", () -> SafetensorsWriter.create().add("w", null, new long[] {1}, ByteBuffer.allocate(4))),
                c("SafetensorsWriter.add(null shape)", NullPointerException.class, "shape", () -> SafetensorsWriter.create().add("w", DType.F32, null, ByteBuffer.allocate(4))),
                c("SafetensorsWriter.add(null bytes)", NullPointerException.class, "bytes", () -> SafetensorsWriter.create().add("w", DType.F32, new long[] {1}, null)),
                c("SafetensorsWriter.add(negative dim)", IllegalArgumentException.class, "tensor 'w': negative dimension in [-1]", () -> SafetensorsWriter.create().add("w", DType.F32, new long[] {-1}, ByteBuffer.allocate(4))),
                c("SafetensorsWriter.metadata(null key)", IllegalArgumentException.class, "metadata keys and values must not be null", () -> SafetensorsWriter.create().metadata(null, "v")),
                c("SafetensorsWriter.write(null)", NullPointerException.class, "file", () -> SafetensorsWriter.create().write(null)),
                c("HfConfig.read(null)", NullPointerException.class, "path", () -> HfConfig.read(null)),
                c("HfConfig.read(missing)", dev.peft4j.core.model.ConfigException.class, "no config.json at /nonexistent/peft4j", () -> HfConfig.read(MISSING)),
                c("HfConfig.of(null)", NullPointerException.class, "node", () -> HfConfig.of(null, "x")),
                c("BertConfig.from(null)", NullPointerException.class, "hf", () -> BertConfig.from(null)),
                c("BertConfig hidden 0", IllegalArgumentException.class, "hidden_size must be positive, got 0", () -> BertConfig.builder().setVocabSize(10).setHiddenSize(0).setNumHiddenLayers(1).setNumAttentionHeads(1).setIntermediateSize(4).build()),
                c("BertConfig heads not dividing", IllegalArgumentException.class, "hidden_size 10 is not a multiple of num_attention_heads 3", () -> BertConfig.builder().setVocabSize(10).setHiddenSize(10).setNumHiddenLayers(1).setNumAttentionHeads(3).setIntermediateSize(4).build()),
                c("BertConfig vocab 0", IllegalArgumentException.class, "vocab_size must be positive, got 0", () -> BertConfig.builder().setVocabSize(0).setHiddenSize(8).setNumHiddenLayers(1).setNumAttentionHeads(2).setIntermediateSize(4).build()),
                c("LlamaConfig.read(null)", NullPointerException.class, "path", () -> LlamaConfig.read(null)),
                c("LlamaConfig.from(null)", NullPointerException.class, "config", () -> LlamaConfig.from(null)),
                c("Builtins.get(null)", IllegalArgumentException.class, "unknown builtin model 'null' (known: builtin:all-minilm-l6-v2)", () -> Builtins.get(null)),
                c("Builtins.get(unknown)", IllegalArgumentException.class, "unknown builtin model 'builtin:nope' (known: builtin:all-minilm-l6-v2)", () -> Builtins.get("builtin:nope")),
                c("Linear(0, 4)", IllegalArgumentException.class, "Linear needs positive sizes, got in=0 out=4", () -> new Linear(0, 4, true)),
                c("Linear(4, -1)", IllegalArgumentException.class, "Linear needs positive sizes, got in=4 out=-1", () -> new Linear(4, -1, true)),
                c("Embedding(0, 4)", IllegalArgumentException.class, "Embedding needs positive sizes, got 0x4", () -> new Embedding(0, 4)),
                c("Embedding(4, 0)", IllegalArgumentException.class, "Embedding needs positive sizes, got 4x0", () -> new Embedding(4, 0)),
                c("LayerNorm(0)", IllegalArgumentException.class, "LayerNorm needs a positive dim and a positive finite eps, got dim=0 eps=1.0E-5", () -> new LayerNorm(0, 1e-5f)),
                c("LayerNorm(eps -1)", IllegalArgumentException.class, "LayerNorm needs a positive dim and a positive finite eps, got dim=4 eps=-1.0", () -> new LayerNorm(4, -1f)),
                c("RmsNorm(0)", IllegalArgumentException.class, "RmsNorm needs a positive dim and a positive finite eps, got dim=0 eps=1.0E-5", () -> new RmsNorm(0, 1e-5f)),
                c("RmsNorm(eps NaN)", IllegalArgumentException.class, "RmsNorm needs a positive dim and a positive finite eps, got dim=4 eps=NaN", () -> new RmsNorm(4, Float.NaN)),
                c("Dropout(-0.1)", IllegalArgumentException.class, "dropout probability must be in [0, 1), got -0.1", () -> new Dropout(-0.1)),
                c("Dropout(1.0)", IllegalArgumentException.class, "dropout probability must be in [0, 1), got 1.0", () -> new Dropout(1.0)),
                c("Dropout(NaN)", IllegalArgumentException.class, "dropout probability must be in [0, 1), got NaN", () -> new Dropout(Double.NaN)),
                c("RandomBatchSampler(size 0)", IllegalArgumentException.class, "size must be positive, got 0", () -> new RandomBatchSampler(0, 8, true, false)),
                c("RandomBatchSampler(batch 0)", IllegalArgumentException.class, "batchSize must be positive, got 0", () -> new RandomBatchSampler(10, 0, true, false)),
                c("LengthBucketBatchSampler(null)", IllegalArgumentException.class, "lengths must not be empty", () -> new LengthBucketBatchSampler(null, 2, 4, false)),
                c("LengthBucketBatchSampler(batch 0)", IllegalArgumentException.class, "batchSize must be positive, got 0", () -> new LengthBucketBatchSampler(new int[] {1}, 0, 4, false)),
                c("LengthBucketBatchSampler(chunk 0)", IllegalArgumentException.class, "chunkBatches must be positive, got 0", () -> new LengthBucketBatchSampler(new int[] {1}, 1, 0, false)),
                c("TrainingConfig epochs 0", IllegalArgumentException.class, "epochs must be positive (optEpochs) unless maxSteps is set, got 0", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(0).build()),
                c("TrainingConfig epochs -1", IllegalArgumentException.class, "epochs must not be negative, got -1", () -> TrainingConfig.builder().optMaxSteps(3).setEpochs(-1).build()),
                c("TrainingConfig lr -1", IllegalArgumentException.class, "learningRate must be positive, got -1.0", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optLearningRate(-1).build()),
                c("TrainingConfig lr NaN", IllegalArgumentException.class, "learningRate must be positive, got NaN", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optLearningRate(Double.NaN).build()),
                c("TrainingConfig warmup -1", IllegalArgumentException.class, "warmupSteps must not be negative, got -1", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optWarmupSteps(-1).build()),
                c("TrainingConfig warmupRatio 1.5", IllegalArgumentException.class, "warmupRatio must be in [0, 1], got 1.5", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optWarmupRatio(1.5).build()),
                c("TrainingConfig accumulation 0", IllegalArgumentException.class, "gradientAccumulation must be positive, got 0", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optGradientAccumulation(0).build()),
                c("TrainingConfig maxGradNorm -1", IllegalArgumentException.class, "maxGradNorm must be 0 (off) or positive, got -1.0", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optMaxGradNorm(-1).build()),
                c("TrainingConfig evalEvery -1", IllegalArgumentException.class, "evalEvery must not be negative, got -1", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optEvalEvery(-1).build()),
                c("TrainingConfig checkpointEvery -1", IllegalArgumentException.class, "checkpointEvery must not be negative, got -1", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optCheckpointEvery(-1).build()),
                c("TrainingConfig keepCheckpoints 0", IllegalArgumentException.class, "keepCheckpoints must be positive, got 0", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optKeepCheckpoints(0).build()),
                c("TrainingConfig bestMetric null", IllegalArgumentException.class, "bestMetric must not be blank", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optBestMetric(null, false).build()),
                c("TrainingConfig maxSteps -1", IllegalArgumentException.class, "maxSteps must not be negative, got -1", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optMaxSteps(-1).build()),
                c("TrainingConfig optimizer null", NullPointerException.class, "optimizer must not be null", () -> TrainingConfig.builder().setOutputDir(MISSING).setEpochs(1).optOptimizer(null).build()),
                c("AdapterTrainer no model", NullPointerException.class, "model is required (setModel)", () -> AdapterTrainer.builder().build()),
                c("AdapterTrainer.setModel(null)", NullPointerException.class, "model is required (setModel)", () -> AdapterTrainer.builder().setModel(null).build()),
                c("Checkpoints(null)", NullPointerException.class, "root", () -> new Checkpoints(null)),
                c("Checkpoints.prune(0)", IllegalArgumentException.class, "keep must be positive, got 0", () -> new Checkpoints(MISSING).prune(0)),
                c("Checkpoints.stepOf(bad)", IllegalArgumentException.class, "not a checkpoint directory name: ckpt-1", () -> Checkpoints.stepOf(Path.of("ckpt-1"))),
                c("GenerationConfig maxNewTokens 0", IllegalArgumentException.class, null, () -> GenerationConfig.builder().setMaxNewTokens(0).build()),
                c("GenerationConfig temperature -1", IllegalArgumentException.class, null, () -> GenerationConfig.builder().setMaxNewTokens(4).optTemperature(-1).build()),
                c("GenerationConfig topK -1", IllegalArgumentException.class, "GenerationConfig: topK must be >= 0, got -1", () -> GenerationConfig.builder().setMaxNewTokens(4).optTopK(-1).build()),
                c("GenerationConfig topP 0", IllegalArgumentException.class, "GenerationConfig: topP must be in (0, 1], got 0.0", () -> GenerationConfig.builder().setMaxNewTokens(4).optTopP(0).build()),
                c("GenerationConfig topP 1.5", IllegalArgumentException.class, "GenerationConfig: topP must be in (0, 1], got 1.5", () -> GenerationConfig.builder().setMaxNewTokens(4).optTopP(1.5f).build()),
                c("GenerationConfig eos null", NullPointerException.class, "ids", () -> GenerationConfig.builder().optEosTokenIds((long[]) null)),
                c("TextTokenizer no file", IllegalArgumentException.class, "no tokenizer.json: call setTokenizerFile or setTokenizerJson", () -> TextTokenizer.builder().setMaxLength(8).build()),
                c("TextTokenizer.setTokenizerFile(null)", IllegalArgumentException.class, "no tokenizer.json: call setTokenizerFile or setTokenizerJson", () -> TextTokenizer.builder().setTokenizerFile(null).setMaxLength(8).build()),
                c("TextTokenizer.setTokenizerJson(null)", IllegalArgumentException.class, "no tokenizer.json: call setTokenizerFile or setTokenizerJson", () -> TextTokenizer.builder().setTokenizerJson(null, "t").setMaxLength(8).build()),
                c("TextTokenizer maxLength 0", IllegalArgumentException.class, "maxLength must be set to a positive value, not 0", () -> TextTokenizer.builder().setTokenizerJson("{}", "t").setMaxLength(0).build()));
    }

    static Arguments c(String name, Class<? extends Throwable> type, String message, Executable call) {
        return Arguments.of(name, type, message, call);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rejectsWithAClearMessage(String name, Class<? extends Throwable> type, String message, Executable call) {
        Throwable e = assertThrows(type, call, name);
        assertEquals(type, e.getClass(), name);
        if (message != null) {
            assertEquals(message, e.getMessage(), name);
        } else {
            assertTrue(e.getMessage() != null && e.getMessage().startsWith("GenerationConfig: "), e.getMessage());
        }
    }
}
