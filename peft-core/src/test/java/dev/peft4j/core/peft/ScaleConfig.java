package dev.peft4j.core.peft;

import java.util.List;

/** The toy method's configuration: which linear layers get a learned output scale. */
record ScaleConfig(List<String> targetModules, List<String> modulesToSave, String taskType, boolean inferenceMode)
        implements PeftConfig {

    @Override
    public String peftType() {
        return ScaleMethod.TYPE;
    }

    @Override
    public String baseModelNameOrPath() {
        return null;
    }

    @Override
    public ScaleConfig withInferenceMode(boolean mode) {
        return new ScaleConfig(targetModules, modulesToSave, taskType, mode);
    }

    @Override
    public ScaleConfig withModulesToSave(List<String> modules) {
        return new ScaleConfig(targetModules, modules, taskType, inferenceMode);
    }
}
