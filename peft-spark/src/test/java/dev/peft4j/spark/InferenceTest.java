package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.bert.Prediction;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraInit;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Adapter inference over a data frame equals single-process inference row by row. */
class InferenceTest {

    @TempDir static Path tmp;

    private static SparkSession spark;
    private static ModelSource<BertForSequenceClassification> source;
    private static Path adapter;

    @BeforeAll
    static void start() throws IOException {
        spark = LocalSpark.start("local[2]", 1);
        source = TinyModel.save(tmp.resolve("tiny"));
        adapter = tmp.resolve("adapter");
        try (BertForSequenceClassification base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel.wrap(base, TinyModel.lora(), m, 3).save(adapter); // random A and B: the adapter matters
        }
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static List<Prediction> singleProcess(List<String> texts, boolean withAdapter) throws IOException {
        try (BertForSequenceClassification base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            if (withAdapter) {
                PeftModel.load(base, adapter, m);
            }
            return base.predict(texts);
        }
    }

    @Test
    void classificationOverADataFrameEqualsSingleProcessRowByRow() throws IOException {
        List<String> texts = TinyModel.ROWS.stream().map(LabeledText::text).toList();
        Dataset<Row> scored = SparkTextModel.classifier(source).optAdapter(adapter.toString()).optBatchSize(3)
                .build().transform(TinyModel.frame(spark, TinyModel.ROWS, 2));
        List<Row> rows = scored.collectAsList();
        List<Prediction> expected = singleProcess(texts, true);
        List<Prediction> baseOnly = singleProcess(texts, false);
        assertEquals(texts.size(), rows.size());
        boolean adapterChangesSomething = false;
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            assertEquals(texts.get(i), r.getString(0));
            assertEquals(expected.get(i).label(), r.getString(2), "row " + i);
            List<Float> p = r.getList(3);
            float[] probs = new float[p.size()];
            for (int j = 0; j < probs.length; j++) {
                probs[j] = p.get(j);
            }
            assertArrayEquals(expected.get(i).probabilities(), probs, 1e-6f, "row " + i);
            adapterChangesSomething |= Math.abs(baseOnly.get(i).probabilities()[0] - probs[0]) > 1e-4;
        }
        assertEquals(true, adapterChangesSomething, "the adapter changes the probabilities");
    }

    @Test
    void nullTextsGetNullOutputsAndColumnsAreChecked() {
        List<Row> in = new ArrayList<>(List.of(RowFactory.create("good tea", "good"), RowFactory.create(null, "bad")));
        Dataset<Row> df = spark.createDataFrame(in, nullableSchema());
        List<Row> out = SparkTextModel.classifier(source).build().transform(df).collectAsList();
        assertEquals(2, out.size());
        assertNull(out.get(1).get(2));
        assertNull(out.get(1).get(3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparkTextModel.classifier(source).optInputColumn("review").build().transform(df));
        assertEquals("column 'review' not in the data; it has [text, label]", e.getMessage());
    }

    @Test
    void embeddingsOverADataFrameEqualSingleProcessRowByRow() throws IOException {
        ModelSource<BertModel> encoder = ModelSource.encoder(tmp.resolve("tiny").toString(), 8);
        Path encoderAdapter = tmp.resolve("encoder-adapter");
        try (BertModel base = encoder.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel.wrap(base, LoraConfig.builder().setTargetModules("query", "value").optR(2).optLoraAlpha(4)
                    .optInitLoraWeights(LoraInit.RANDOM).build(), m, 4).save(encoderAdapter);
        }
        List<String> texts = TinyModel.ROWS.stream().map(LabeledText::text).toList();
        List<Row> rows = SparkTextModel.encoder(encoder).optAdapter(encoderAdapter.toString()).optNormalize(true)
                .optBatchSize(3).build().transform(TinyModel.frame(spark, TinyModel.ROWS, 2)).collectAsList();
        float[][] expected;
        float[][] baseOnly;
        try (BertModel base = encoder.load();
                BertModel plain = encoder.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel.load(base, encoderAdapter, m);
            expected = base.embed(texts, Pooling.MEAN, true);
            baseOnly = plain.embed(texts, Pooling.MEAN, true);
        }
        assertEquals(texts.size(), rows.size());
        boolean adapterChangesSomething = false;
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(texts.get(i), rows.get(i).getString(0));
            List<Float> e = rows.get(i).getList(2);
            float[] v = new float[e.size()];
            for (int j = 0; j < v.length; j++) {
                v[j] = e.get(j);
            }
            assertArrayEquals(expected[i], v, 1e-6f, "row " + i);
            adapterChangesSomething |= Math.abs(baseOnly[i][0] - v[0]) > 1e-4;
        }
        assertEquals(8, expected[0].length, "hidden size");
        assertTrue(adapterChangesSomething, "the adapter changes the embeddings");
    }

    private static org.apache.spark.sql.types.StructType nullableSchema() {
        return new org.apache.spark.sql.types.StructType()
                .add("text", org.apache.spark.sql.types.DataTypes.StringType, true)
                .add("label", org.apache.spark.sql.types.DataTypes.StringType, true);
    }
}
