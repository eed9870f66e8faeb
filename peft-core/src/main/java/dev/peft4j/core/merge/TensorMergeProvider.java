package dev.peft4j.core.merge;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A method's entry to the streaming merge: opens the {@link TensorMergeRule} of an adapter
 * directory of its {@code peft_type}. Registered in {@code
 * META-INF/services/dev.peft4j.core.merge.TensorMergeProvider} (peft-lora registers LoRA's), found
 * by {@link TensorMergeProviders}.
 */
public interface TensorMergeProvider {

    /** @return PEFT's {@code peft_type} this provider merges, e.g. {@code LORA} */
    String peftType();

    /**
     * @param adapterDir an adapter directory of this method ({@code adapter_config.json}, weights)
     * @return the open rule
     * @throws IOException when the files cannot be read
     * @throws IllegalArgumentException naming the file and field for an invalid configuration, or
     *     for an adapter this provider cannot stream (say, a DoRA adapter where unsupported)
     */
    TensorMergeRule open(Path adapterDir) throws IOException;
}
