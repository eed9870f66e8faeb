/**
 * Text to token ids: {@link dev.peft4j.core.text.TextTokenizer}, a Hugging Face {@code
 * tokenizer.json} run by DJL's native tokenizers library with every setting explicit.
 */
package dev.peft4j.core.text;
