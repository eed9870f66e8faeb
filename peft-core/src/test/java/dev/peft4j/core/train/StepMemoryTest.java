package dev.peft4j.core.train;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No array created during a step outlives it, even one a careless train step creates in the
 * model's own manager; resident memory stays roughly flat over a few hundred steps (the real soak
 * test is separate).
 */
class StepMemoryTest {

    private static final TinyRegression DATA = new TinyRegression(40);

    @Test
    void noStepArrayEscapes(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp model = TinyRegression.model(m, 0.1);
            TrainStep good = DATA.step(model);
            TrainStep careless = (ps, manager, ids, training) -> {
                model.getModule("fc1").parameter("weight").getArray().mul(2); // lands in the model's manager
                return good.compute(ps, manager, ids, training);
            };
            int arraysBefore = m.getManagedArrays().size();
            long[] rss = new long[2];
            TrainingResult r = AdapterTrainer.builder().setModel(model)
                    .setConfig(TrainingConfig.builder().setOutputDir(dir).setEpochs(1).optMaxSteps(300)
                            .optProgressBar(false).optTrainingCurve(false).build())
                    .setBatchSampler(new RandomBatchSampler(40, 8, true, false))
                    .setTrainStep(careless)
                    .addListener(s -> {
                        if (s.step() == 50) {
                            rss[0] = residentKb();
                        } else if (s.step() == 300) {
                            rss[1] = residentKb();
                        }
                    })
                    .build().train();
            assertEquals(300, r.finalStep());
            assertEquals(arraysBefore, m.getManagedArrays().size(), "arrays left in the model's manager");
            if (rss[0] > 0) {
                long growthKb = rss[1] - rss[0];
                assertTrue(growthKb < 32 * 1024, "RSS grew by " + growthKb + " kB over 250 steps");
            }
        }
    }

    /** VmRSS from /proc (Linux), 0 elsewhere. */
    private static long residentKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (Exception e) {
            return 0;
        }
        return 0;
    }
}
