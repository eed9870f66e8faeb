package dev.peft4j.lora;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.model.random.ModelShape;
import dev.peft4j.core.model.random.RandomCheckpoint;
import dev.peft4j.core.nn.NativeAllocator;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingResult;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.Linear4bit;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The QLoRA step at a scaled-down real shape (a random-weight Llama checkpoint with GQA, sharded,
 * loaded with NF4 quantize-on-load): what it costs in resident memory relative to its own
 * weights, and that repeated steps do not grow the process.
 */
class QloraStepMemoryTest {

    private static final Path STATUS = Path.of("/proc/self/status");

    private static final int SEQUENCE = 128;

    @Test
    void stepPeakIsBoundedByTheDequantizedWeightsAndStaysFlat(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isReadable(STATUS), "resident memory is read from /proc");
        NativeAllocator.limitRetention();
        ModelShape shape = ModelShape.builder().setModelType("llama").setHiddenSize(512).setNumLayers(4)
                .setNumHeads(8).setNumKeyValueHeads(2).setIntermediateSize(1376).setVocabSize(2000).build();
        Path model = dir.resolve("model");
        RandomCheckpoint.builder().setShape(shape).optSeed(5).optShardBytes(8_000_000).build().write(model);
        List<Map<String, Object>> rows = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(9);
        for (int i = 0; i < 8; i++) {
            rows.add(Map.of("input_ids", random.ints(SEQUENCE, 3, 2000).boxed().toList()));
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            QuantizationConfig nf4 = QuantizationConfig.builder().setQuantType(QuantType.NF4).build();
            LlamaForCausalLM lm = QuantizedLlama.load(model, nf4, manager);
            long linear = 0;
            long fourBitBytes = 0;
            for (var m : lm.namedModules().values()) {
                if (m instanceof Linear4bit q) {
                    linear += q.inFeatures() * q.outFeatures();
                    fourBitBytes += q.deviceBytes();
                }
            }
            // 4 layers x (q, o 512x512; k, v 128x512; gate, up, down 1376x512)
            assertEquals(4L * (2 * 262_144 + 2 * 65_536 + 3 * 704_512), linear);
            // NF4 codes, one byte per block of 64 and a float32 per 256 blocks (double quant), code tables
            assertEquals(linear / 2 + linear / 64 + 4 * (linear / 64 / 256) + 28 * 4 * 256, fourBitBytes,
                    "NF4 codes plus double-quantized block scales");
            long denseBytes = 4 * linear;

            PeftModel<?> peft = PeftModel.wrap(lm, LoraConfig.builder().setTargetModules("q_proj", "v_proj")
                    .optR(16).optLoraAlpha(32).build(), manager, 7L);
            int steps = 8;
            long[] rss = new long[steps + 1];
            boolean[] peakResets = new boolean[1];
            TrainingArguments args = TrainingArguments.builder().optBatchSize(1).optMaxLength(SEQUENCE)
                    .optMaxSteps(steps).optLearningRate(1e-3).optSeed(3).optProgressBar(false).build();
            TrainingResult result = FineTuner.builder().setModel(peft).setTrainData(rows).optArguments(args)
                    .addListener(s -> {
                        System.gc(); // Java heap churn is not what is measured
                        if (s.step() == 3) { // after the first steps' one-off costs (JIT, thread pools, heap)
                            peakResets[0] = resetPeak();
                        }
                        rss[(int) s.step()] = kb("VmRSS:");
                    }).build().fit();
            long peak = kb("VmHWM:");
            assertEquals(steps, result.finalStep());
            result.losses().values().forEach(l -> assertTrue(Double.isFinite(l), "loss " + l));

            long stepPeak = 1024 * (peak - rss[3]);
            long growth = 1024 * (rss[steps] - rss[4]);
            System.out.printf("QLoRA step at hidden 512 x 4 layers, seq %d: NF4 weights %.1f MiB (dense F32 %.1f MiB);"
                    + " steps 4-%d peak %.1f MiB over the RSS after step 3%s; RSS after each step %s kB%n", SEQUENCE,
                    fourBitBytes / 1048576.0, denseBytes / 1048576.0, steps, stepPeak / 1048576.0,
                    peakResets[0] ? "" : " (peak not reset: process-wide)", java.util.Arrays.toString(rss));
            // no step keeps its dequantized weights (that would be the dense model again every step)
            assertTrue(growth < denseBytes, "resident memory grew by " + growth + " bytes from step 4 to " + steps);
            if (peakResets[0]) {
                // autograd keeps each layer's dequantized float32 weight for the input gradient:
                // about the dense model once, plus activations and one layer's transients
                assertTrue(stepPeak < 2 * denseBytes, "step peak " + stepPeak + " bytes, dense weights " + denseBytes);
            }
        }
    }

    /**
     * With gradient checkpointing, a recomputed 4-bit layer holds at most one dequantized weight
     * (FrozenLinearTape), not the layer's: a step's peak over its RSS stays under three quarters
     * of one layer's dense float32 weights (it was above them, as autograd kept every weight of the
     * recomputed layer for the input gradient).
     */
    @Test
    void checkpointedStepHoldsLessThanOneLayersDenseWeights(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isReadable(STATUS), "resident memory is read from /proc");
        NativeAllocator.limitRetention();
        int sequence = 64;
        ModelShape shape = ModelShape.builder().setModelType("llama").setHiddenSize(1024).setNumLayers(2)
                .setNumHeads(8).setNumKeyValueHeads(2).setIntermediateSize(2816).setVocabSize(2000).build();
        Path model = dir.resolve("model");
        RandomCheckpoint.builder().setShape(shape).optSeed(5).build().write(model);
        List<Map<String, Object>> rows = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(9);
        for (int i = 0; i < 8; i++) {
            rows.add(Map.of("input_ids", random.ints(sequence, 3, 2000).boxed().toList()));
        }
        // q, o 1024x1024; k, v 256x1024; gate, up, down 2816x1024: 44.6 MiB in float32
        long layerDense = 4L * (2 * 1024 * 1024 + 2 * 256 * 1024 + 3 * 2816 * 1024);
        try (NDManager manager = NDManager.newBaseManager()) {
            QuantizationConfig nf4 = QuantizationConfig.builder().setQuantType(QuantType.NF4).build();
            LlamaForCausalLM lm = QuantizedLlama.load(model, nf4, manager);
            PeftModel<?> peft = PeftModel.wrap(lm, LoraConfig.builder().setTargetModules("q_proj", "v_proj")
                    .optR(16).optLoraAlpha(32).build(), manager, 7L);
            int steps = 6;
            long[] rss = new long[steps + 1];
            boolean[] peakResets = new boolean[1];
            TrainingArguments args = TrainingArguments.builder().optBatchSize(1).optMaxLength(sequence)
                    .optMaxSteps(steps).optLearningRate(1e-3).optSeed(3).optProgressBar(false)
                    .optGradientCheckpointing(true).build();
            TrainingResult result = FineTuner.builder().setModel(peft).setTrainData(rows).optArguments(args)
                    .addListener(s -> {
                        System.gc();
                        if (s.step() == 3) {
                            peakResets[0] = resetPeak();
                        }
                        rss[(int) s.step()] = kb("VmRSS:");
                    }).build().fit();
            long peak = kb("VmHWM:");
            assertEquals(steps, result.finalStep());
            result.losses().values().forEach(l -> assertTrue(Double.isFinite(l), "loss " + l));
            long stepPeak = 1024 * (peak - rss[3]);
            System.out.printf("checkpointed QLoRA step at hidden 1024 x 2 layers, seq %d: steps 4-%d peak %.1f MiB"
                    + " over the RSS after step 3%s, one layer's dense weights %.1f MiB; RSS %s kB%n", sequence, steps,
                    stepPeak / 1048576.0, peakResets[0] ? "" : " (peak not reset: process-wide)",
                    layerDense / 1048576.0, java.util.Arrays.toString(rss));
            assumeTrue(peakResets[0], "the peak could not be reset");
            assertTrue(stepPeak < layerDense * 3 / 4,
                    "step peak " + stepPeak + " bytes, one layer's dense weights " + layerDense);
        }
    }

    /** Resets VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs); false where refused. */
    private static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static long kb(String field) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return 0;
    }
}
