package dev.peft4j.tuners.prompt;

import ai.djl.nn.Parameter;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.model.hooks.PrefixShape;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.model.llama.LlamaModel;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.text.TextTokenizer;

import java.util.Optional;

/**
 * What prompt learning needs from a base model (BERT or the Llama family): the prefix shape, the
 * query heads, the word embeddings and the model's own tokenizer if it has one.
 *
 * @param hooks the model's PEFT hooks
 * @param shape layers, key/value heads, head width, hidden size
 * @param numAttentionHeads query heads
 * @param wordEmbeddings the word-embedding table {@code [vocab, hidden]}
 * @param tokenizer the model's tokenizer, if it came with one
 */
record BaseDims(PeftHooks hooks, PrefixShape shape, int numAttentionHeads, Parameter wordEmbeddings,
                Optional<TextTokenizer> tokenizer) {

    /**
     * @param base the base model
     * @return its dimensions
     * @throws IllegalArgumentException when the model takes no virtual tokens
     */
    static BaseDims of(Module base) {
        PeftHooks hooks = PeftHooks.of(base);
        if (!hooks.supportsPrefixes()) {
            throw new IllegalArgumentException(base.getClass().getSimpleName() + " takes no virtual tokens:"
                    + " prompt learning needs a BERT or Llama-family model");
        }
        Module host = base.getModule(hooks.prefixHostPath());
        int heads;
        Parameter words;
        if (host instanceof LlamaModel l) {
            heads = l.config().numAttentionHeads();
            words = l.child("embed_tokens").parameter("weight");
        } else if (host instanceof BertModel b) {
            heads = b.config().numAttentionHeads();
            words = b.child("embeddings").child("word_embeddings").parameter("weight");
        } else {
            throw new IllegalArgumentException(host.getClass().getSimpleName() + " is not a BERT or Llama model");
        }
        return new BaseDims(hooks, hooks.prefixShape(), heads, words, tokenizerOf(base, host));
    }

    private static Optional<TextTokenizer> tokenizerOf(Module base, Module host) {
        if (base instanceof LlamaForCausalLM lm) {
            return lm.tokenizer();
        }
        if (base instanceof BertForSequenceClassification c) {
            return c.tokenizer();
        }
        return host instanceof BertModel b ? b.tokenizer() : Optional.empty();
    }
}
