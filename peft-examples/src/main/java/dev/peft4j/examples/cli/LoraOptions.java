package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.nn.Module;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.core.peft.PeftModel;
import picocli.CommandLine.Option;

import java.util.List;

/** The LoRA options of {@code train}: targets, rank, alpha and dropout. */
final class LoraOptions {

    @Option(names = "--target-modules", split = ",", paramLabel = "NAMES",
            description = "Layers to adapt, comma-separated module names (default: query,value for classify,"
                    + " q_proj,v_proj for causal-lm).")
    List<String> targetModules;

    @Option(names = "--lora-r", defaultValue = "8", paramLabel = "R", description = "LoRA rank (default 8).")
    int r;

    @Option(names = "--lora-alpha", defaultValue = "16", paramLabel = "A",
            description = "LoRA alpha; the update is scaled by alpha/r (default 16).")
    double alpha;

    @Option(names = "--lora-dropout", defaultValue = "0.1", paramLabel = "P",
            description = "Dropout on the LoRA input in training (default 0.1).")
    double dropout;

    /**
     * Freezes the base and injects the adapter.
     *
     * @param base the model, loaded
     * @param defaultTargets targets when {@code --target-modules} is absent
     * @param modulesToSave modules trained whole and saved with the adapter (a classifier head)
     * @param taskType PEFT's {@code task_type}
     * @param modelId {@code base_model_name_or_path}
     * @param seed initialization seed
     * @param manager owner of the adapter arrays
     * @param <M> the base model's type
     * @return the wrapped model
     */
    <M extends Module> PeftModel<M> wrap(M base, List<String> defaultTargets, List<String> modulesToSave, String taskType,
            String modelId, long seed, NDManager manager) {
        List<String> targets = targetModules == null || targetModules.isEmpty() ? defaultTargets : targetModules;
        LoraConfig config = LoraConfig.builder()
                .setTargetModules(targets.toArray(new String[0]))
                .optR(r)
                .optLoraAlpha(alpha)
                .optLoraDropout(dropout)
                .optModulesToSave(modulesToSave)
                .optTaskType(taskType)
                .optBaseModelNameOrPath(modelId)
                .build();
        return PeftModel.wrap(base, config, manager, seed);
    }
}
