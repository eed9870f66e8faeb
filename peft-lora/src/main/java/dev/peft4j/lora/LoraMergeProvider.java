package dev.peft4j.lora;

import dev.peft4j.core.merge.TensorMergeProvider;
import dev.peft4j.core.merge.TensorMergeRule;

import java.io.IOException;
import java.nio.file.Path;

/**
 * LoRA's entry to the streaming merge ({@code peft_type} {@value LoraConfig#PEFT_TYPE}): opens a
 * {@link LoraMergeRule}. Registered in {@code META-INF/services/dev.peft4j.core.merge.TensorMergeProvider}.
 */
public final class LoraMergeProvider implements TensorMergeProvider {

    /** Creates the provider (stateless). */
    public LoraMergeProvider() {}

    @Override
    public String peftType() {
        return LoraConfig.PEFT_TYPE;
    }

    @Override
    public TensorMergeRule open(Path adapterDir) throws IOException {
        return LoraMergeRule.open(adapterDir);
    }
}
