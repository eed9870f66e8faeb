package dev.peft4j.core.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What a fresh run may remove from an output directory: its own earlier files, nothing else. */
final class OutputDirs {

    private OutputDirs() {}

    /**
     * Deletes an earlier run's {@code checkpoints/}, {@code best/}, {@code metrics.jsonl} and
     * {@code training-curve.png}; other files stay.
     *
     * @param dir the output directory, or null (nothing to do)
     * @throws IOException when deleting fails
     */
    static void clearPreviousRun(Path dir) throws IOException {
        if (dir == null || !Files.isDirectory(dir)) {
            return;
        }
        Checkpoints.deleteTree(dir.resolve(TrainingConfig.CHECKPOINTS_DIR));
        Checkpoints.deleteTree(dir.resolve(TrainingConfig.BEST_DIR));
        Files.deleteIfExists(dir.resolve(TrainingConfig.METRICS_FILE));
        Files.deleteIfExists(dir.resolve(TrainingConfig.CURVE_FILE));
    }
}
