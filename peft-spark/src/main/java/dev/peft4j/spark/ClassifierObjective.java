package dev.peft4j.spark;

import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.train.TrainStep;
import org.apache.spark.sql.Row;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Sequence classification: cross-entropy, mean over the examples. */
final class ClassifierObjective implements TrainObjective<BertForSequenceClassification> {

    private static final long serialVersionUID = 1L;

    private final ModelSource<BertForSequenceClassification> source;
    private final List<String> labels;
    private final String textColumn;
    private final String labelColumn;

    ClassifierObjective(ModelSource<BertForSequenceClassification> source, List<String> labels, String textColumn,
            String labelColumn) {
        this.source = source;
        this.labels = List.copyOf(labels);
        this.textColumn = textColumn;
        this.labelColumn = labelColumn;
    }

    @Override
    public ModelSource<BertForSequenceClassification> source() {
        return source;
    }

    @Override
    public TrainStep step(BertForSequenceClassification base, List<Row> rows) throws IOException {
        List<LabeledText> local = new ArrayList<>(rows.size());
        for (Row r : rows) {
            local.add(new LabeledText(r.getAs(textColumn), String.valueOf((Object) r.getAs(labelColumn))));
        }
        return TrainTask.trainStep(base, local, labels);
    }

    @Override
    public DataParallelLoop.Normalization normalization() {
        return DataParallelLoop.Normalization.EXAMPLES;
    }
}
