package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.train.AdapterTrainer;
import dev.peft4j.core.train.BnbAdamW;
import dev.peft4j.core.train.OptimizerState;
import dev.peft4j.core.train.StateStorage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** {@code --optim} and its options on {@code train}. */
class OptimizerOptionsTest {

    @TempDir Path dir;

    private static OptimizerOptions options(String name) {
        OptimizerOptions o = new OptimizerOptions();
        o.name = name;
        return o;
    }

    @Test
    void namesMapToTheLibrarysOptimizers() {
        assertEquals("adamw", options("adamw").optimizer().name());
        assertEquals("sgd", options("sgd").optimizer().name());
        OptimizerOptions paged = options("paged-adamw-8bit");
        paged.pagingDir = Path.of("pages");
        paged.min8bitSize = 0L;
        BnbAdamW p = (BnbAdamW) paged.optimizer();
        assertEquals("paged-adamw-8bit", p.name());
        assertEquals(StateStorage.mapped(Path.of("pages")).toString(), p.stateStorage().toString());
        assertTrue(p.quantizes(1));
        BnbAdamW p32 = (BnbAdamW) options("paged-adamw").optimizer();
        assertEquals(32, p32.bits());
        assertEquals(StateStorage.Kind.OFF_HEAP, p32.stateStorage().kind());
    }

    @Test
    void parseReadsTheOptionsOutOfAnExampleCommandLine() {
        OptimizerOptions o = OptimizerOptions.parse("--method", "lora", "--optim", "adamw-8bit", "--epochs", "1",
                "--optim-min-8bit-size", "0", "--out", "lora.json");
        assertEquals("adamw-8bit", o.name());
        BnbAdamW b = (BnbAdamW) o.optimizer();
        assertEquals(8, b.bits());
        assertTrue(b.quantizes(1));
        OptimizerOptions plain = OptimizerOptions.parse("--method", "ia3", "--threads", "1");
        assertEquals("adamw", plain.name());
        assertEquals("adamw", plain.optimizer().name());
        assertEquals("--optim-min-8bit-size needs --optim adamw-8bit or paged-adamw-8bit",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        OptimizerOptions.parse("--optim-min-8bit-size", "0")::optimizer).getMessage());
    }

    @Test
    void optionsThatDoNotApplyAreRefused() {
        CliRun bad = CliRun.of(new TrainCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--task", "classify",
                "--train", "x.jsonl", "--optim", "adam8", "--out", dir.resolve("o").toString());
        assertEquals(1, bad.code());
        assertEquals("error: unknown optimizer 'adam8'; expected one of adamw, adamw-8bit, paged-adamw,"
                + " paged-adamw-8bit, sgd", bad.err());
        CliRun dirWithoutPaging = CliRun.of(new TrainCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--task",
                "classify", "--train", "x.jsonl", "--optim", "adamw-8bit", "--optim-paging-dir", "p", "--out",
                dir.resolve("o").toString());
        assertEquals("error: --optim-paging-dir needs --optim paged-adamw or paged-adamw-8bit",
                dirWithoutPaging.err());
        OptimizerOptions momentum = options("adamw");
        momentum.sgdMomentum = 0.9;
        assertEquals("--sgd-momentum needs --optim sgd",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, momentum::optimizer)
                        .getMessage());
    }

    @Test
    void trainWithPagedEightBitStatesCheckpointsTheCodes() throws IOException {
        Path train;
        try (InputStream in = DemoData.open("train.jsonl")) {
            List<String> lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().limit(32).toList();
            train = Files.write(dir.resolve("train.jsonl"), lines);
        }
        Path out = dir.resolve("run");
        Path pages = dir.resolve("pages");
        CliRun t = CliRun.of(new TrainCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--task", "classify",
                "--train", train.toString(), "--epochs", "1", "--max-length", "16", "--batch-size", "16",
                "--optim", "paged-adamw-8bit", "--optim-min-8bit-size", "0", "--optim-paging-dir", pages.toString(),
                "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        assertEquals(2, new ObjectMapper().readTree(t.out()).get("steps").asInt());
        Path checkpoint = out.resolve("checkpoints/checkpoint-2");
        try (SafetensorsFile f = SafetensorsFile.open(checkpoint.resolve(AdapterTrainer.OPTIMIZER_FILE))) {
            assertEquals("paged-adamw-8bit", f.metadata().get(OptimizerState.META_OPTIMIZER));
            String q = f.names().stream().filter(n -> n.endsWith("lora_A.default.weight." + BnbAdamW.STATE1))
                    .findFirst().orElseThrow();
            assertEquals(DType.U8, f.info(q).dtype(), q);
            // 73,728 LoRA + 770 head values: 2 bytes each + 8 bytes per 256-element block of each tensor
            long bytes = f.names().stream().mapToLong(n -> f.info(n).byteSize()).sum();
            assertTrue(bytes < 2.1 * 74_498 && bytes > 2.0 * 74_498, "state bytes " + bytes);
        }
        try (Stream<Path> s = Files.list(pages)) {
            assertEquals(0, s.count(), "paging files are unlinked");
        }
    }
}
