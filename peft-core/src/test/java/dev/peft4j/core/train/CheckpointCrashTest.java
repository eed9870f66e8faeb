package dev.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDManager;

import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.testing.ChildJvm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Crash safety of checkpoints: a child JVM ({@link CrashChild}) trains with a checkpoint after
 * every step and is killed ({@link Process#destroyForcibly()}, SIGKILL) a random 0–30 ms after it
 * starts writing a weights directory. After every kill each complete checkpoint loads (state,
 * weights, optimizer), nothing partial is named like a checkpoint or {@code best/}, and the next
 * child resumes from the newest complete checkpoint. A last child trains to the end; its weights
 * equal those of an uninterrupted run.
 */
class CheckpointCrashTest {

    static final long SEED = 20_261_123L;
    static final int KILLS = 20;

    @Test
    void killsDuringCheckpointWritesNeverLeaveAPartialCheckpointBehind(@TempDir Path tmp)
            throws Exception {
        Random random = new Random(SEED);
        Path out = tmp.resolve("run");
        Path checkpoints = out.resolve(TrainingConfig.CHECKPOINTS_DIR);
        long t0 = System.nanoTime();
        int kills = 0;
        List<Long> resumedFrom = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager()) {
            while (kills < KILLS) {
                long latest = latestStep(checkpoints);
                int killAtSave = 1 + random.nextInt(3);
                int delayMs = random.nextInt(31);
                Process p = start(out, tmp.resolve("child-" + kills + ".err"));
                try (BufferedReader r = reader(p)) {
                    int saves = 0;
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (line.startsWith("START ")) {
                            assertEquals(latest, Long.parseLong(line.substring(6)), "kill " + kills
                                    + ": the child must resume from the newest complete checkpoint");
                            resumedFrom.add(latest);
                        } else if (line.startsWith("SAVE ") && ++saves == killAtSave) {
                            Thread.sleep(delayMs);
                            p.destroyForcibly();
                            break;
                        } else if (line.startsWith("DONE")) {
                            fail("the child finished before it was killed; add epochs");
                        }
                    }
                } finally {
                    p.destroyForcibly();
                    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
                }
                kills++;
                verify(m, out, "after kill " + kills + " (save " + killAtSave + ", +" + delayMs + " ms)");
            }
            assertTrue(latestStep(checkpoints) > 0, "some checkpoints were completed");

            // Train to the end, then compare with an uninterrupted run in this JVM.
            Process p = start(out, tmp.resolve("child-final.err"));
            String last = null;
            try (BufferedReader r = reader(p)) {
                for (String line; (line = r.readLine()) != null; ) {
                    last = line;
                }
            }
            assertEquals(0, p.waitFor(), "final child: " + Files.readString(tmp.resolve("child-final.err")));
            long total = (long) CrashChild.EPOCHS * CrashChild.EXAMPLES / CrashChild.BATCH;
            assertEquals("DONE " + total, last);
            verify(m, out, "at the end");
            for (Path dir : List.of(checkpoints, out)) {
                try (Stream<Path> s = Files.list(dir)) {
                    assertEquals(List.of(), s.filter(x -> x.toString().contains(".tmp-")).toList(),
                            "resume deletes the debris of interrupted writes in " + dir);
                }
            }
            TinyRegression.Mlp straight = TinyRegression.model(m, 0.3);
            CrashChild.trainer(straight, tmp.resolve("straight"), 0, false).train();
            TinyRegression.Mlp resumed = TinyRegression.model(m, 0.3);
            new TrainableParametersIo(resumed).load(checkpoints.resolve("checkpoint-" + total)
                    .resolve(AdapterTrainer.WEIGHTS_DIR));
            Map<String, float[]> a = TinyRegression.snapshot(straight);
            Map<String, float[]> b = TinyRegression.snapshot(resumed);
            for (String path : TinyRegression.trainablePaths()) {
                assertArrayEquals(a.get(path), b.get(path), 1e-6f, path);
            }
        }
        System.out.printf("checkpoint crash test: %d kills (seed %d), resumed from steps %s, %d ms%n",
                kills, SEED, resumedFrom, (System.nanoTime() - t0) / 1_000_000);
    }

    /** Every complete checkpoint loads; nothing incomplete is named like a checkpoint. */
    private static void verify(NDManager m, Path out, String when) throws IOException {
        Path root = out.resolve(TrainingConfig.CHECKPOINTS_DIR);
        if (Files.isDirectory(root)) {
            try (Stream<Path> s = Files.list(root)) {
                for (Path dir : s.toList()) {
                    String name = dir.getFileName().toString();
                    if (name.contains(".tmp-")) {
                        continue; // debris of the interrupted write: deleted on resume
                    }
                    assertTrue(name.matches("checkpoint-\\d+"), when + ": unexpected " + name);
                    assertTrue(Files.isRegularFile(dir.resolve(Checkpoints.COMPLETE_MARKER)),
                            when + ": " + name + " has no " + Checkpoints.COMPLETE_MARKER);
                    long step = Checkpoints.stepOf(dir);
                    assertEquals(step, TrainerState.read(dir.resolve(TrainerState.FILE_NAME)).step(), when);
                    loadWeights(m, dir.resolve(AdapterTrainer.WEIGHTS_DIR));
                    try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(AdapterTrainer.OPTIMIZER_FILE))) {
                        assertEquals(Long.toString(step), f.metadata().get(OptimizerState.META_STEP), when);
                    }
                }
            }
        }
        Path best = out.resolve(TrainingConfig.BEST_DIR);
        if (Files.exists(best)) {
            loadWeights(m, best);
        }
    }

    private static void loadWeights(NDManager m, Path dir) throws IOException {
        try (NDManager sub = m.newSubManager()) {
            new TrainableParametersIo(TinyRegression.model(sub, 0.3)).load(dir);
        }
    }

    private static long latestStep(Path checkpoints) throws IOException {
        return new Checkpoints(checkpoints).latest().map(Checkpoints::stepOf).orElse(0L);
    }

    private static BufferedReader reader(Process p) {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    /** A child JVM, cheap to start (C1 only, serial GC) and with one PyTorch thread. */
    private static Process start(Path out, Path stderr) throws IOException {
        return ChildJvm.start(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m",
                "-Dai.djl.pytorch.num_threads=1"),
                CrashChild.class, stderr, out.toString());
    }
}
