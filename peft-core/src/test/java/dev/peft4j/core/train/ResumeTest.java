package dev.peft4j.core.train;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Train 20 steps vs. 10 + crash + resume in a new trainer with a new model: same losses. */
class ResumeTest {

    private static final TinyRegression DATA = new TinyRegression(40);

    /** Dropout, shuffling, warmup + linear decay, clipping, AdamW, evaluation and checkpoints every 5. */
    private static TrainingConfig config(Path dir) {
        return TrainingConfig.builder().setOutputDir(dir).setEpochs(4).optProgressBar(false)
                .optLearningRate(1e-2).optWarmupSteps(3).optMaxGradNorm(0.5)
                .optCheckpointEvery(5).optEvalEvery(5).optKeepCheckpoints(3).build();
    }

    private static AdapterTrainer.Builder trainer(TinyRegression.Mlp model, Path dir) {
        TrainStep step = DATA.step(model);
        return AdapterTrainer.builder().setModel(model).setConfig(config(dir))
                .setBatchSampler(new RandomBatchSampler(40, 8, true, false))
                .setTrainStep(step)
                .optEvaluator(Evaluator.meanLoss(step, new RandomBatchSampler(40, 40, false, false)));
    }

    /** A crash: the listener throws after step 12 was logged. */
    private static final class Crash extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    @Test
    void resumedRunReplaysTheUninterruptedLosses(@TempDir Path tmp) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp straight = TinyRegression.model(m, 0.3);
            TrainingResult full = trainer(straight, tmp.resolve("full")).build().train();
            assertEquals(20, full.losses().size());

            Path dir = tmp.resolve("crashy");
            TinyRegression.Mlp first = TinyRegression.model(m, 0.3);
            assertThrows(Crash.class, () -> trainer(first, dir).addListener(s -> {
                if (s.step() == 12) {
                    throw new Crash();
                }
            }).build().train());
            Path checkpoints = dir.resolve(TrainingConfig.CHECKPOINTS_DIR);
            assertEquals(List.of("checkpoint-10", "checkpoint-5"), AdapterTrainerTest.names(checkpoints));

            // Debris of a crash mid-write must never be picked up.
            Path debris = Files.createDirectories(checkpoints.resolve("checkpoint-15.tmp-abc123"));
            Files.writeString(debris.resolve(Checkpoints.COMPLETE_MARKER), "step 15");
            Files.createDirectories(checkpoints.resolve("checkpoint-14"));
            Path bestDebris = Files.createDirectories(dir.resolve(TrainingConfig.BEST_DIR + ".tmp-xyz"));
            assertEquals(checkpoints.resolve("checkpoint-10"), new Checkpoints(checkpoints).latest().orElseThrow());

            TinyRegression.Mlp second = TinyRegression.model(m, 0.3); // fresh instance, initial weights
            TrainingResult resumed = trainer(second, dir).build().resume();
            assertEquals(11L, resumed.losses().firstKey());
            assertEquals(20L, resumed.losses().lastKey());
            for (long s = 11; s <= 20; s++) {
                assertEquals(full.losses().get(s), resumed.losses().get(s), 1e-6, "loss of step " + s);
            }
            Map<String, float[]> a = TinyRegression.snapshot(straight);
            Map<String, float[]> b = TinyRegression.snapshot(second);
            for (String p : TinyRegression.trainablePaths()) {
                assertArrayEquals(a.get(p), b.get(p), 1e-6f, p);
            }
            assertEquals(full.bestMetric(), resumed.bestMetric(), 1e-9);
            assertEquals(full.bestStep(), resumed.bestStep());

            assertFalse(Files.exists(debris), "leftover temporary checkpoints are deleted");
            assertFalse(Files.exists(bestDebris), "and so is an interrupted best/ write");
            assertEquals(List.of("checkpoint-10", "checkpoint-14", "checkpoint-15", "checkpoint-20"),
                    AdapterTrainerTest.names(checkpoints), "keep 3 complete; the incomplete one is ignored");

            // metrics.jsonl holds each step once: lines after the checkpoint were replaced
            List<String> trainLines = Files.readAllLines(dir.resolve(TrainingConfig.METRICS_FILE)).stream()
                    .filter(l -> l.contains("\"kind\":\"train\"")).toList();
            assertEquals(20, trainLines.size());
            for (int i = 0; i < 20; i++) {
                assertTrue(trainLines.get(i).contains("\"step\":" + (i + 1) + ","), trainLines.get(i));
            }
        }
    }

    @Test
    void divergenceNamesTheStepAndKeepsTheLastGoodCheckpoint(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp model = TinyRegression.model(m, 0.3);
            TrainStep good = DATA.step(model);
            int[] calls = {0};
            TrainStep nanAtStep7 = (ps, manager, ids, training) -> {
                StepOutput out = good.compute(ps, manager, ids, training);
                return ++calls[0] == 7 ? new StepOutput(out.loss().mul(Float.NaN), 0) : out;
            };
            List<Map<String, float[]>> afterStep6 = new java.util.ArrayList<>(List.of(Map.of()));
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () ->
                    AdapterTrainer.builder().setModel(model).setConfig(config(dir))
                            .setBatchSampler(new RandomBatchSampler(40, 8, true, false))
                            .setTrainStep(nanAtStep7)
                            .addListener(s -> afterStep6.set(0, TinyRegression.snapshot(model)))
                            .build().train());
            Path last = dir.resolve("checkpoints/checkpoint-5");
            assertEquals("training diverged at step 7: loss is NaN (last good checkpoint: " + last + ")",
                    e.getMessage());
            assertEquals(7, e.step());
            assertEquals(last, e.lastCheckpoint());
            assertEquals(last, new Checkpoints(dir.resolve("checkpoints")).latest().orElseThrow());
            assertEquals(5, TrainerState.read(last.resolve(TrainerState.FILE_NAME)).step());
            Map<String, float[]> now = TinyRegression.snapshot(model);
            for (String p : TinyRegression.trainablePaths()) {
                assertArrayEquals(afterStep6.get(0).get(p), now.get(p), p + ": the bad step is not applied");
            }
        }
    }

    @Test
    void nonFiniteGradientIsCaughtToo(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp model = TinyRegression.model(m, 0);
            TrainStep good = DATA.step(model);
            TrainStep nanGradient = (ps, manager, ids, training) -> {
                StepOutput out = good.compute(ps, manager, ids, training);
                // sqrt(w - w) = 0 adds nothing to the loss, but its gradient is inf - inf = NaN
                var w = model.getModule("fc2").parameter("weight").getArray();
                return StepOutput.of(out.loss().add(w.sum().sub(w.sum()).sqrt()));
            };
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () ->
                    AdapterTrainer.builder().setModel(model).setConfig(config(dir))
                            .setBatchSampler(new RandomBatchSampler(40, 8, true, false))
                            .setTrainStep(nanGradient).build().train());
            assertEquals("training diverged at step 1: gradient norm is NaN (no checkpoint yet)", e.getMessage());
        }
    }
}
