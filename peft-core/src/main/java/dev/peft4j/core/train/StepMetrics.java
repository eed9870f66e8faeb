package dev.peft4j.core.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one optimizer step reported; one {@code metrics.jsonl} line.
 *
 * @param step the 1-based optimizer step
 * @param epoch fractional epochs completed after the step
 * @param loss the step's loss (mean over its micro-batches)
 * @param learningRate the learning rate the update used
 * @param gradNorm the global gradient norm before clipping
 * @param examples examples in the step
 * @param tokens tokens in the step (0 when the train step reports none)
 * @param elapsedSeconds training time since the run started, including time before a resume
 * @param examplesPerSecond throughput of this step
 * @param tokensPerSecond token throughput of this step (0 without token counts)
 */
public record StepMetrics(
        long step,
        double epoch,
        double loss,
        double learningRate,
        double gradNorm,
        long examples,
        long tokens,
        double elapsedSeconds,
        double examplesPerSecond,
        double tokensPerSecond) {

    /** @return the JSONL fields, in order */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", "train");
        m.put("step", step);
        m.put("epoch", epoch);
        m.put("loss", loss);
        m.put("lr", learningRate);
        m.put("grad_norm", gradNorm);
        m.put("examples", examples);
        m.put("tokens", tokens);
        m.put("elapsed_s", elapsedSeconds);
        m.put("examples_per_s", examplesPerSecond);
        m.put("tokens_per_s", tokensPerSecond);
        return m;
    }
}
