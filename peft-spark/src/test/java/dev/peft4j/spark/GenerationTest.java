package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraInit;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Generation with a causal LM and a LoRA adapter over a data frame equals single-process
 * generation row by row (the shared tiny Qwen2 checkpoint with {@link TinyTokenizer}'s vocabulary).
 */
class GenerationTest {

    @TempDir static Path tmp;

    private static SparkSession spark;
    private static ModelSource<LlamaForCausalLM> source;
    private static Path adapter;

    @BeforeAll
    static void start() throws IOException {
        Path model = tmp.resolve("qwen2");
        Files.createDirectories(model);
        try (Stream<Path> files = Files.list(Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded"))) {
            for (Path f : files.toList()) {
                Files.copy(f, model.resolve(f.getFileName().toString()));
            }
        }
        Files.writeString(model.resolve("tokenizer.json"), tokenizerJson(model.resolve("config.json")));
        source = ModelSource.causalLm(model.toString());
        adapter = tmp.resolve("adapter");
        try (LlamaForCausalLM lm = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel.wrap(lm, LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(2)
                    .optInitLoraWeights(LoraInit.RANDOM).build(), m, 9).save(adapter);
        }
        spark = LocalSpark.start("local[2]", 1);
    }

    /** TinyTokenizer's words, then {@code tok<i>} for every other id of the model's vocabulary. */
    private static String tokenizerJson(Path config) throws IOException {
        ObjectMapper json = new ObjectMapper();
        int vocab = json.readTree(config.toFile()).get("vocab_size").asInt();
        ObjectNode root = (ObjectNode) json.readTree(TinyTokenizer.json());
        ObjectNode words = (ObjectNode) root.get("model").get("vocab");
        for (int id = words.size(); id < vocab; id++) {
            words.put("tok" + id, id);
        }
        return root.toString();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    @Test
    void generationOverADataFrameEqualsSingleProcessRowByRow() throws IOException {
        List<String> prompts = List.of("the tea is", "hello good world", "very bad", "awful");
        StructType schema = new StructType().add("text", DataTypes.StringType, true);
        Dataset<Row> df = spark.createDataFrame(prompts.stream().map(p -> RowFactory.create(p)).toList(), schema)
                .repartition(2);
        List<Row> rows = SparkTextModel.causalLm(source).optAdapter(adapter.toString()).optMaxNewTokens(3)
                .optBatchSize(2).build().transform(df).collectAsList();
        assertEquals(prompts.size(), rows.size());
        assertEquals(true, rows.stream().anyMatch(r -> !r.getString(1).isBlank()), "something is generated: " + rows);
        try (LlamaForCausalLM lm = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel.load(lm, adapter, m);
            for (Row r : rows) {
                String expected = lm.generate(List.of(r.getString(0)),
                        GenerationConfig.builder().setMaxNewTokens(3).build()).get(0);
                assertEquals(expected, r.getString(1), "prompt '" + r.getString(0) + "'");
            }
        }
    }
}
