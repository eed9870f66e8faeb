package dev.peft4j.core.train;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdapterTrainerTest {

    private static final TinyRegression DATA = new TinyRegression(40);

    static TrainingConfig.Builder config(Path dir) {
        return TrainingConfig.builder().setOutputDir(dir).setEpochs(3).optProgressBar(false);
    }

    @Test
    void lossDecreasesOnlyTrainableParametersChangeAndArtifactsAreWritten(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp model = TinyRegression.model(m, 0.1);
            Map<String, float[]> before = TinyRegression.snapshot(model);
            TrainStep step = DATA.step(model);
            TrainingResult r = AdapterTrainer.builder()
                    .setModel(model)
                    .setConfig(config(dir).optLearningRate(3e-2).optSchedule(ScheduleType.CONSTANT).build())
                    .setBatchSampler(new RandomBatchSampler(40, 8, true, false))
                    .setTrainStep(step)
                    .optEvaluator(Evaluator.meanLoss(step, new RandomBatchSampler(40, 20, false, false)))
                    .build()
                    .train();

            assertEquals(15, r.finalStep());
            assertEquals(15, r.losses().size());
            double first = r.losses().get(1L);
            double lastMean = r.losses().tailMap(11L).values().stream().mapToDouble(d -> d).average().orElseThrow();
            assertTrue(lastMean < first * 0.5, "loss should fall: first " + first + ", last 5 mean " + lastMean);

            Map<String, float[]> after = TinyRegression.snapshot(model);
            assertArrayEquals(before.get("input.weight"), after.get("input.weight"), "frozen must not change");
            for (String p : TinyRegression.trainablePaths()) {
                assertFalse(java.util.Arrays.equals(before.get(p), after.get(p)), p + " should change");
            }

            // metrics.jsonl: 15 train lines and 3 eval lines (epoch ends), all parseable with the fields
            List<JsonNode> lines = new ArrayList<>();
            for (String line : Files.readAllLines(dir.resolve(TrainingConfig.METRICS_FILE))) {
                lines.add(JsonMapper.builder().build().readTree(line));
            }
            List<JsonNode> train = lines.stream().filter(n -> n.get("kind").asText().equals("train")).toList();
            List<JsonNode> eval = lines.stream().filter(n -> n.get("kind").asText().equals("eval")).toList();
            assertEquals(15, train.size());
            assertEquals(List.of(5L, 10L, 15L), eval.stream().map(n -> n.get("step").asLong()).toList());
            for (String f : List.of("step", "epoch", "loss", "lr", "grad_norm", "elapsed_s", "examples_per_s",
                    "tokens_per_s")) {
                assertTrue(train.get(0).has(f), "train line lacks " + f + ": " + train.get(0));
            }
            assertEquals(first, train.get(0).get("loss").asDouble(), 1e-12);
            assertEquals(3e-2, train.get(0).get("lr").asDouble(), 1e-12);
            assertEquals(1.0, train.get(4).get("epoch").asDouble(), 1e-12);
            assertTrue(train.get(0).get("tokens_per_s").asDouble() > 0);
            assertTrue(eval.get(0).has("eval_loss") && eval.get(0).has("elapsed_s"));

            // best = lowest eval loss, saved under best/
            double bestEval = eval.stream().mapToDouble(n -> n.get("eval_loss").asDouble()).min().orElseThrow();
            assertEquals(bestEval, r.bestMetric(), 1e-12);
            assertEquals("eval_loss", r.bestMetricName());
            assertTrue(Files.isRegularFile(r.bestAdapterDir().resolve(TrainableParametersIo.FILE_NAME)));
            assertEquals(r.finalMetrics().get("eval_loss"), eval.get(2).get("eval_loss").asDouble(), 1e-12);

            // keep the last 2 checkpoints (epoch ends: 5, 10, 15)
            assertEquals(List.of("checkpoint-10", "checkpoint-15"), names(r.checkpointsDir()));
            assertEquals(dir.resolve("checkpoints/checkpoint-15"), r.lastCheckpoint());
            Path ckpt = r.lastCheckpoint();
            for (String f : List.of(Checkpoints.COMPLETE_MARKER, TrainerState.FILE_NAME, AdapterTrainer.OPTIMIZER_FILE,
                    AdapterTrainer.WEIGHTS_DIR + "/" + TrainableParametersIo.FILE_NAME)) {
                assertTrue(Files.isRegularFile(ckpt.resolve(f)), "checkpoint lacks " + f);
            }
            TrainerState state = TrainerState.read(ckpt.resolve(TrainerState.FILE_NAME));
            assertEquals(15, state.step());
            assertEquals(42, state.seed());
            assertEquals(3, state.epoch());

            byte[] png = Files.readAllBytes(dir.resolve(TrainingConfig.CURVE_FILE));
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
                    java.util.Arrays.copyOf(png, 8));
        }
    }

    @Test
    void gradientAccumulationEqualsOneLargerBatch(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp a = TinyRegression.model(m, 0);
            TinyRegression.Mlp b = TinyRegression.model(m, 0);
            TrainingResult ra = AdapterTrainer.builder().setModel(a)
                    .setConfig(config(dir.resolve("a")).optGradientAccumulation(2).optMaxSteps(4)
                            .optOptimizer(Sgd.builder().build()).optLearningRate(0.1).optMaxGradNorm(0).build())
                    .setBatchSampler(new RandomBatchSampler(40, 4, false, false))
                    .setTrainStep(DATA.step(a)).build().train();
            TrainingResult rb = AdapterTrainer.builder().setModel(b)
                    .setConfig(config(dir.resolve("b")).optMaxSteps(4)
                            .optOptimizer(Sgd.builder().build()).optLearningRate(0.1).optMaxGradNorm(0).build())
                    .setBatchSampler(new RandomBatchSampler(40, 8, false, false))
                    .setTrainStep(DATA.step(b)).build().train();
            for (long s = 1; s <= 4; s++) {
                assertEquals(rb.losses().get(s), ra.losses().get(s), 1e-6, "loss of step " + s);
            }
            Map<String, float[]> pa = TinyRegression.snapshot(a);
            Map<String, float[]> pb = TinyRegression.snapshot(b);
            for (String p : TinyRegression.trainablePaths()) {
                assertArrayEquals(pb.get(p), pa.get(p), 1e-6f, p);
            }
        }
    }

    @Test
    void clippingCapsTheUpdate(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp model = TinyRegression.model(m, 0);
            Map<String, float[]> before = TinyRegression.snapshot(model);
            double[] norm = new double[1];
            AdapterTrainer.builder().setModel(model)
                    .setConfig(config(dir).optMaxSteps(1).optOptimizer(Sgd.builder().build())
                            .optLearningRate(1.0).optSchedule(ScheduleType.CONSTANT).optMaxGradNorm(1e-3).build())
                    .setBatchSampler(new RandomBatchSampler(40, 8, false, false))
                    .setTrainStep(DATA.step(model))
                    .addListener(s -> norm[0] = s.gradNorm())
                    .build().train();
            assertTrue(norm[0] > 1e-3, "the unclipped norm is reported: " + norm[0]);
            // SGD with lr 1: the update is the clipped gradient, whose global norm is 1e-3.
            double sq = 0;
            Map<String, float[]> after = TinyRegression.snapshot(model);
            for (String p : TinyRegression.trainablePaths()) {
                for (int i = 0; i < after.get(p).length; i++) {
                    double d = after.get(p)[i] - before.get(p)[i];
                    sq += d * d;
                }
            }
            assertEquals(1e-3, Math.sqrt(sq), 1e-6);
        }
    }

    @Test
    void validatesConfigurationAndState(@TempDir Path dir) throws Exception {
        assertEquals("epochs must be positive (optEpochs) unless maxSteps is set, got 0",
                assertThrows(IllegalArgumentException.class,
                        () -> TrainingConfig.builder().setOutputDir(dir).build()).getMessage());
        assertNull(TrainingConfig.builder().setEpochs(1).build().outputDir());
        assertEquals(7, TrainingConfig.builder().optMaxSteps(7).build().maxSteps());
        assertEquals("gradientAccumulation must be positive, got 0", assertThrows(IllegalArgumentException.class,
                () -> config(dir).optGradientAccumulation(0).build()).getMessage());
        assertEquals("eval_accuracy", config(dir).optBestMetric("accuracy", true).build().bestMetric());
        assertEquals("train step is required (setTrainStep)", assertThrows(NullPointerException.class,
                () -> AdapterTrainer.builder().setModel(new TinyRegression.Mlp(0)).setConfig(config(dir).build())
                        .setBatchSampler(new RandomBatchSampler(4, 2, false, false)).build()).getMessage());

        TinyRegression.Mlp uninitialized = new TinyRegression.Mlp(0);
        AdapterTrainer t = AdapterTrainer.builder().setModel(uninitialized).setConfig(config(dir).build())
                .setBatchSampler(new RandomBatchSampler(4, 2, false, false))
                .setTrainStep(DATA.step(uninitialized)).build();
        assertEquals("parameter 'input.weight' has no array: initialize or load the model before training",
                assertThrows(IllegalStateException.class, t::train).getMessage());

        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp frozen = TinyRegression.model(m, 0);
            frozen.freeze(p -> true);
            AdapterTrainer f = AdapterTrainer.builder().setModel(frozen).setConfig(config(dir).build())
                    .setBatchSampler(new RandomBatchSampler(4, 2, false, false))
                    .setTrainStep(DATA.step(frozen)).build();
            assertEquals("the model has no trainable parameters (all are frozen)",
                    assertThrows(IllegalStateException.class, f::train).getMessage());

            TinyRegression.Mlp vector = TinyRegression.model(m, 0);
            AdapterTrainer v = AdapterTrainer.builder().setModel(vector).setConfig(config(dir.resolve("v")).build())
                    .setBatchSampler(new RandomBatchSampler(4, 2, false, false))
                    .setTrainStep((ps, manager, ids, training) -> StepOutput.of(manager.ones(new ai.djl.ndarray.types.Shape(2, 1))))
                    .build();
            assertEquals("the train step must return a scalar loss, got shape (2, 1)",
                    assertThrows(IllegalArgumentException.class, v::train).getMessage());

            TinyRegression.Mlp model = TinyRegression.model(m, 0);
            AdapterTrainer.Builder b = AdapterTrainer.builder().setModel(model)
                    .setBatchSampler(new RandomBatchSampler(40, 8, false, false)).setTrainStep(DATA.step(model));
            assertEquals("no complete checkpoint to resume from", assertThrows(java.nio.file.NoSuchFileException.class,
                    () -> b.setConfig(config(dir).optMaxSteps(2).build()).build().resume()).getReason());
            b.setConfig(config(dir).optMaxSteps(2).build()).build().train();
            IllegalStateException again = assertThrows(IllegalStateException.class,
                    () -> b.setConfig(config(dir).optMaxSteps(2).build()).build().train());
            assertEquals("output directory " + dir + " already holds checkpoint checkpoint-2; call resume() or"
                    + " choose another outputDir", again.getMessage());
            IllegalStateException seed = assertThrows(IllegalStateException.class,
                    () -> b.setConfig(config(dir).optMaxSteps(2).optSeed(7).build()).build().resume());
            assertEquals("checkpoint " + dir.resolve("checkpoints/checkpoint-2") + " used seed 42, this configuration 7",
                    seed.getMessage());
            IllegalStateException data = assertThrows(IllegalStateException.class,
                    () -> b.setConfig(config(dir).optMaxSteps(2).build())
                            .setBatchSampler(new RandomBatchSampler(40, 8, true, false)).build().resume());
            assertTrue(data.getMessage().endsWith(": the dataset or the sampler changed"), data.getMessage());
        }
    }

    static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
