package dev.peft4j.examples.cli;

import dev.peft4j.core.nn.Module;
import dev.peft4j.core.train.AdapterTrainer;
import dev.peft4j.core.train.BatchSampler;
import dev.peft4j.core.train.Evaluator;
import dev.peft4j.core.train.StepListener;
import dev.peft4j.core.train.TrainStep;
import dev.peft4j.core.train.TrainingConfig;
import dev.peft4j.core.train.TrainingResult;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Runs {@link AdapterTrainer} with the CLI's settings: AdamW, linear schedule with 6% warmup,
 * gradient clipping at 1, checkpoints at epoch ends in {@code out/checkpoints}, metrics and curve in
 * {@code out}.
 */
final class AdapterRun {

    private AdapterRun() {}

    /**
     * @param model the wrapped model (its trainable parameters are the adapter's)
     * @param step the task's train step
     * @param sampler the training batches
     * @param evaluator evaluation on held-out data, or null
     * @param bestMetric the metric choosing the best weights (used with an evaluator)
     * @param higherIsBetter whether higher is better for it
     * @param run the options
     * @param out the output directory
     * @param resume whether to continue from the newest checkpoint
     * @param progressBar whether to draw the console progress bar
     * @param listener observes steps, or null
     * @return the result
     * @throws IOException when writing fails
     */
    static TrainingResult train(Module model, TrainStep step, BatchSampler sampler, Evaluator evaluator,
            String bestMetric, boolean higherIsBetter, RunOptions run, Path out, boolean resume, boolean progressBar,
            StepListener listener) throws IOException {
        TrainingConfig config = TrainingConfig.builder()
                .setOutputDir(out)
                .setEpochs(run.epochs)
                .optLearningRate(run.lr)
                .optWarmupRatio(RunOptions.WARMUP_RATIO)
                .optGradientAccumulation(run.gradAccum)
                .optSeed(run.seed)
                .optBestMetric(bestMetric, higherIsBetter)
                .optKeepCheckpoints(1)
                .optProgressBar(progressBar)
                .build();
        AdapterTrainer.Builder b = AdapterTrainer.builder().setModel(model).setConfig(config).setBatchSampler(sampler)
                .setTrainStep(step).optEvaluator(evaluator);
        if (listener != null) {
            b.addListener(listener);
        }
        AdapterTrainer trainer = b.build();
        try {
            return resume ? trainer.resume() : trainer.train();
        } catch (IllegalStateException e) {
            if (e.getMessage() != null && e.getMessage().contains("already holds checkpoint")) {
                throw new IllegalStateException("--out " + out + " already holds a run: pass --resume to continue it"
                        + " or choose another --out", e);
            }
            throw e;
        }
    }
}
