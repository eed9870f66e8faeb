package dev.peft4j.core.model.hooks;

/**
 * A family's base model that takes an {@link InputPrefix} and a {@link KeyValuePrefix}: BERT's
 * {@code BertModel} and the Llama family's {@code LlamaModel}.
 */
public interface PrefixHost {

    /** @return the installed input prefix, or {@code null} */
    InputPrefix inputPrefix();

    /** @param prefix the input prefix, or {@code null} to remove it */
    void setInputPrefix(InputPrefix prefix);

    /** @return the installed key/value prefix, or {@code null} */
    KeyValuePrefix keyValuePrefix();

    /** @param prefix the key/value prefix, or {@code null} to remove it */
    void setKeyValuePrefix(KeyValuePrefix prefix);

    /** @return the shapes prefixes must have */
    PrefixShape prefixShape();
}
