package dev.peft4j.examples.cli;

import dev.peft4j.core.train.AdapterSaver;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.StepListener;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingResult;
import dev.peft4j.core.peft.PeftModel;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Runs {@link FineTuner} with the CLI's settings (the shared {@code TrainingDefaults} unless an
 * option overrides them): checkpoints at epoch ends in {@code out/checkpoints}, the best adapter
 * in {@code out/best} (PEFT format), metrics and curve in {@code out}; a directory already holding
 * a run is refused unless {@code --resume}.
 */
final class AdapterRun {

    private AdapterRun() {}

    /**
     * @param run the options
     * @param out the output directory
     * @param resume whether to continue from the newest checkpoint
     * @param progressBar whether to draw the console progress bar
     * @param optim the optimizer options
     * @return the CLI's training arguments
     */
    static TrainingArguments arguments(RunOptions run, Path out, boolean resume, boolean progressBar,
            OptimizerOptions optim) {
        return builder(run, out, resume, progressBar, optim).build();
    }

    /**
     * @param run the options
     * @param out the output directory
     * @param resume whether to continue from the newest checkpoint
     * @param progressBar whether to draw the console progress bar
     * @param optim the optimizer options
     * @return the builder of the CLI's training arguments, for a command to add its own settings
     */
    static TrainingArguments.Builder builder(RunOptions run, Path out, boolean resume, boolean progressBar,
            OptimizerOptions optim) {
        return TrainingArguments.builder()
                .optOutputDir(out)
                .optEpochs(run.epochs)
                .optLearningRate(run.lr)
                .optBatchSize(run.batchSize)
                .optMaxLength(run.maxLength)
                .optGradientAccumulation(run.gradAccum)
                .optSeed(run.seed)
                .optProgressBar(progressBar)
                .optTrainingCurve(true)
                .optResumeFromCheckpoint(resume)
                .optOverwriteOutputDir(false)
                .optOptimizer(optim.optimizer());
    }

    /**
     * @param peft the model
     * @param saver writes {@code best/} (the adapter in PEFT format, and for classification its
     *     {@code labels.json}, so that {@code --adapter OUT/best} works)
     * @param arguments the {@link #arguments}
     * @param listener observes steps, or null
     * @return a tuner builder; the caller sets the data
     */
    static FineTuner.Builder tuner(PeftModel<?> peft, AdapterSaver saver, TrainingArguments arguments,
            StepListener listener) {
        FineTuner.Builder b = FineTuner.builder().setModel(peft).optArguments(arguments).optAdapterSaver(saver);
        if (listener != null) {
            b.addListener(listener);
        }
        return b;
    }

    /**
     * @param tuner the tuner
     * @param out the output directory, for the error message
     * @return the result
     * @throws IOException when writing fails
     */
    static TrainingResult fit(FineTuner tuner, Path out) throws IOException {
        try {
            return tuner.fit();
        } catch (IllegalStateException e) {
            if (e.getMessage() != null && e.getMessage().contains("already holds checkpoint")) {
                throw new IllegalStateException("--out " + out + " already holds a run: pass --resume to continue it"
                        + " or choose another --out", e);
            }
            throw e;
        }
    }
}
