package dev.peft4j.tuners.ia3;

import dev.peft4j.core.merge.TensorMergeProvider;
import dev.peft4j.core.merge.TensorMergeRule;

import java.io.IOException;
import java.nio.file.Path;

/**
 * IA³'s entry to the streaming merge ({@code peft_type} {@value Ia3Config#PEFT_TYPE}): opens an
 * {@link Ia3MergeRule}. Registered in {@code META-INF/services/dev.peft4j.core.merge.TensorMergeProvider}.
 */
public final class Ia3MergeProvider implements TensorMergeProvider {

    /** Creates the provider (stateless). */
    public Ia3MergeProvider() {}

    @Override
    public String peftType() {
        return Ia3Config.PEFT_TYPE;
    }

    @Override
    public TensorMergeRule open(Path adapterDir) throws IOException {
        return Ia3MergeRule.open(adapterDir);
    }
}
