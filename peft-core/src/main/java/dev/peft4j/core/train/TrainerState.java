package dev.peft4j.core.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The loop position and bookkeeping stored in every checkpoint as {@value #FILE_NAME}
 * (snake_case JSON): enough, with the weights and optimizer state, to continue a run exactly.
 *
 * @param formatVersion {@value #FORMAT_VERSION}
 * @param step optimizer steps completed
 * @param epoch the epoch the next step belongs to, 0-based
 * @param batchInEpoch the index of the next micro-batch within that epoch
 * @param totalSteps the run's total steps
 * @param seed the run seed (data order and engine seeds derive from it)
 * @param dataOrder the sampler and a fingerprint of the current epoch's batch order
 * @param schedule the schedule type, warmup, total steps and base learning rate
 * @param optimizer the optimizer's name
 * @param gradientAccumulation micro-batches per step
 * @param bestMetricName the metric that selects the best adapter
 * @param bestMetric the best value so far, null before any evaluation
 * @param bestStep the step of the best value, 0 before any evaluation
 * @param elapsedSeconds training time spent up to this checkpoint
 */
public record TrainerState(
        int formatVersion,
        long step,
        int epoch,
        int batchInEpoch,
        long totalSteps,
        long seed,
        DataOrder dataOrder,
        Schedule schedule,
        String optimizer,
        int gradientAccumulation,
        String bestMetricName,
        Double bestMetric,
        long bestStep,
        double elapsedSeconds) {

    /** The JSON file name inside a checkpoint. */
    public static final String FILE_NAME = "trainer_state.json";

    /** The current format version. */
    public static final int FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    /**
     * How batches were drawn.
     *
     * @param sampler the sampler's description
     * @param batchesPerEpoch batches in every epoch
     * @param epochFingerprint {@link BatchSampler#fingerprint} of the batches of {@code epoch}
     */
    public record DataOrder(String sampler, int batchesPerEpoch, String epochFingerprint) {}

    /**
     * The learning-rate schedule.
     *
     * @param type the schedule type
     * @param warmupSteps warmup steps
     * @param totalSteps total steps
     * @param learningRate the base learning rate
     */
    public record Schedule(ScheduleType type, long warmupSteps, long totalSteps, double learningRate) {}

    /**
     * Writes this state as JSON.
     *
     * @param file the target
     * @throws IOException when writing fails
     */
    public void write(Path file) throws IOException {
        JSON.writeValue(file.toFile(), this);
    }

    /**
     * @param file a file written by {@link #write}
     * @return the state
     * @throws IOException when reading or parsing fails
     */
    public static TrainerState read(Path file) throws IOException {
        TrainerState s = JSON.readValue(file.toFile(), TrainerState.class);
        if (s.formatVersion() != FORMAT_VERSION) {
            throw new IOException(file + ": unsupported format_version " + s.formatVersion()
                    + " (this version reads " + FORMAT_VERSION + ")");
        }
        return s;
    }
}
