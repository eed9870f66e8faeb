package dev.peft4j.core.train;

import java.nio.file.Path;
import java.util.Map;
import java.util.SortedMap;

/**
 * The outcome of {@link AdapterTrainer#train()} or {@link AdapterTrainer#resume()}.
 *
 * @param finalStep the last completed optimizer step
 * @param losses the loss of every step run by this call (not steps before a resume), by step
 * @param finalMetrics the metrics of the last evaluation (empty without an evaluator)
 * @param bestMetricName the metric that selects the best adapter
 * @param bestMetric its best value, or null when never evaluated
 * @param bestStep the step of the best value, 0 when never evaluated
 * @param bestAdapterDir where the best weights were saved, or null
 * @param checkpointsDir the directory holding the checkpoints
 * @param lastCheckpoint the newest complete checkpoint, or null
 * @param stoppedEarly whether {@link AdapterTrainer#requestStop()} ended the run early
 */
public record TrainingResult(
        long finalStep,
        SortedMap<Long, Double> losses,
        Map<String, Double> finalMetrics,
        String bestMetricName,
        Double bestMetric,
        long bestStep,
        Path bestAdapterDir,
        Path checkpointsDir,
        Path lastCheckpoint,
        boolean stoppedEarly) {}
