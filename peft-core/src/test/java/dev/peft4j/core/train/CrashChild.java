package dev.peft4j.core.train;

import ai.djl.ndarray.NDManager;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The child JVM of {@link CheckpointCrashTest}: trains {@link TinyRegression} with a checkpoint
 * (and an evaluation that may write {@code best/}) after every step, resuming from the newest
 * complete checkpoint when there is one. It prints {@code START <step>} once training begins and
 * {@code SAVE <dir>} (flushed) as it starts writing each weights directory, so the parent can kill
 * it mid-write.
 */
public final class CrashChild {

    static final int EXAMPLES = 40;
    static final int BATCH = 8;
    static final int EPOCHS = 16; // 80 steps

    private CrashChild() {}

    /**
     * @param args the output directory
     * @throws IOException when training fails
     */
    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        try (NDManager m = NDManager.newBaseManager()) {
            TinyRegression.Mlp model = TinyRegression.model(m, 0.3);
            AdapterTrainer trainer = trainer(model, out, 1, true);
            boolean resume = new Checkpoints(out.resolve(TrainingConfig.CHECKPOINTS_DIR)).latest().isPresent();
            TrainingResult r = resume ? trainer.resume() : trainer.train();
            System.out.println("DONE " + r.finalStep());
        }
    }

    /** The trainer; {@code announce} prints the protocol lines. */
    static AdapterTrainer trainer(TinyRegression.Mlp model, Path out, int checkpointEvery, boolean announce) {
        TinyRegression data = new TinyRegression(EXAMPLES);
        TrainStep step = data.step(model);
        TrainableParametersIo io = new TrainableParametersIo(model);
        CheckpointIo announcing = new CheckpointIo() {
            @Override
            public void save(Path dir) throws IOException {
                if (announce) {
                    System.out.println("SAVE " + dir.getFileName());
                    System.out.flush();
                }
                io.save(dir);
            }

            @Override
            public void load(Path dir) throws IOException {
                io.load(dir);
            }
        };
        boolean[] started = {false};
        return AdapterTrainer.builder().setModel(model)
                .setConfig(TrainingConfig.builder().setOutputDir(out).setEpochs(EPOCHS).optProgressBar(false)
                        .optLearningRate(1e-2).optWarmupSteps(3).optMaxGradNorm(0.5)
                        .optCheckpointEvery(checkpointEvery).optEvalEvery(1).optKeepCheckpoints(3)
                        .optTrainingCurve(false).build())
                .setBatchSampler(new RandomBatchSampler(EXAMPLES, BATCH, true, false))
                .setTrainStep(step)
                .optEvaluator(Evaluator.meanLoss(step, new RandomBatchSampler(EXAMPLES, EXAMPLES, false, false)))
                .optCheckpointIo(announcing)
                .addListener(s -> {
                    if (announce && !started[0]) {
                        started[0] = true;
                        System.out.println("START " + (s.step() - 1));
                        System.out.flush();
                    }
                })
                .build();
    }
}
