package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Prediction;
import dev.peft4j.core.peft.PeftModel;
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

    private static org.apache.spark.sql.types.StructType nullableSchema() {
        return new org.apache.spark.sql.types.StructType()
                .add("text", org.apache.spark.sql.types.DataTypes.StringType, true)
                .add("label", org.apache.spark.sql.types.DataTypes.StringType, true);
    }
}
