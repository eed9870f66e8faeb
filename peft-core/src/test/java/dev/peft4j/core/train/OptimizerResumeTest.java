package dev.peft4j.core.train;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Every optimizer resumes: 20 steps straight = 12 + crash + resume from step 10, bit for bit. */
class OptimizerResumeTest {

    private static final TinyRegression DATA = new TinyRegression(40);

    private static final class Crash extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    private static AdapterTrainer.Builder trainer(TinyRegression.Mlp model, Path dir, ParameterOptimizer opt) {
        TrainingConfig config = TrainingConfig.builder().setOutputDir(dir).setEpochs(4).optProgressBar(false)
                .optLearningRate(1e-2).optWarmupSteps(3).optMaxGradNorm(0.5).optCheckpointEvery(5)
                .optOptimizer(opt).build();
        return AdapterTrainer.builder().setModel(model).setConfig(config)
                .setBatchSampler(new RandomBatchSampler(40, 8, true, false)).setTrainStep(DATA.step(model));
    }

    private static void assertResumesBitIdentically(ParameterOptimizer opt, Path tmp) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp straight = TinyRegression.model(m, 0.3);
            TrainingResult full = trainer(straight, tmp.resolve("full"), opt).build().train();
            Path dir = tmp.resolve("crashy");
            TinyRegression.Mlp first = TinyRegression.model(m, 0.3);
            assertThrows(Crash.class, () -> trainer(first, dir, opt).addListener(s -> {
                if (s.step() == 12) {
                    throw new Crash();
                }
            }).build().train());
            TinyRegression.Mlp second = TinyRegression.model(m, 0.3);
            TrainingResult resumed = trainer(second, dir, opt).build().resume();
            assertEquals(11L, resumed.losses().firstKey());
            for (long s = 11; s <= 20; s++) {
                assertEquals(full.losses().get(s), resumed.losses().get(s), 0, opt.name() + " loss of step " + s);
            }
            Map<String, float[]> a = TinyRegression.snapshot(straight);
            Map<String, float[]> b = TinyRegression.snapshot(second);
            for (String p : TinyRegression.trainablePaths()) {
                assertArrayEquals(a.get(p), b.get(p), 0f, opt.name() + " " + p);
            }
        }
    }

    @Test
    void adamW8bit(@TempDir Path tmp) throws Exception {
        // min_8bit_size 1: the MLP's 16x8 and 1x16 weights get 8-bit states too
        assertResumesBitIdentically(BnbAdamW.builder().optMin8bitSize(1).build(), tmp);
    }

    @Test
    void pagedAdamW8bitInMappedFiles(@TempDir Path tmp) throws Exception {
        assertResumesBitIdentically(BnbAdamW.builder().optMin8bitSize(1).optPagingDirectory(tmp.resolve("pages"))
                .build(), tmp);
    }

    @Test
    void pagedAdamW(@TempDir Path tmp) throws Exception {
        assertResumesBitIdentically(OptimizerType.PAGED_ADAMW.create(), tmp);
    }

    @Test
    void sgdPlainAndWithMomentum(@TempDir Path tmp) throws Exception {
        assertResumesBitIdentically(OptimizerType.SGD.create(), tmp.resolve("plain"));
        assertResumesBitIdentically(Sgd.builder().optMomentum(0.9).build(), tmp.resolve("momentum"));
    }

    @Test
    void optimizerTypesByName() {
        assertEquals(OptimizerType.PAGED_ADAMW_8BIT, OptimizerType.fromName("paged_adamw_8bit"));
        assertEquals("paged-adamw-8bit", OptimizerType.PAGED_ADAMW_8BIT.create().name());
        assertEquals("adamw", OptimizerType.ADAMW.create().name());
        assertEquals("unknown optimizer 'adam'; expected one of adamw, adamw-8bit, paged-adamw, paged-adamw-8bit,"
                + " sgd", assertThrows(IllegalArgumentException.class, () -> OptimizerType.fromName("adam"))
                        .getMessage());
        TrainingArguments args = TrainingArguments.builder().optOptimizer(OptimizerType.ADAMW_8BIT).build();
        assertEquals("adamw-8bit", args.optimizer().name());
        assertEquals("adamw-8bit", args.toTrainingConfig("eval_loss", false).optimizer().name());
        assertEquals("adamw", TrainingArguments.defaults().optimizer().name());
    }
}
