package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * The starting values of a virtual-token table, as PEFT's {@code PromptEmbedding}: {@code RANDOM}
 * N(0, 1) per element; {@code SAMPLE_VOCAB} the word embeddings of {@code n} ids drawn uniformly
 * from the vocabulary; {@code TEXT} the word embeddings of the init text's tokens (special tokens
 * included), truncated to {@code n}, or repeated {@code ceil(n / len)} times and then truncated.
 * Random draws come from a seeded {@link Random}, so they are reproducible in peft4j but not the
 * numbers torch would draw.
 */
final class PromptInit {

    private PromptInit() {}

    /** @return {@code [rows, dim]} float32 from N(0, 1) */
    static NDArray random(NDManager manager, Random random, int rows, long dim) {
        float[] v = new float[Math.toIntExact(rows * dim)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return manager.create(v, new Shape(rows, dim));
    }

    /** @return {@code [rows, dim]} zeros (PEFT's {@code init_weights="zero"}) */
    static NDArray zeros(NDManager manager, int rows, long dim) {
        return manager.create(new float[Math.toIntExact(rows * dim)], new Shape(rows, dim));
    }

    /** @return ids drawn uniformly from {@code [0, vocab)} */
    static long[] sampleVocab(Random random, long vocab, int rows) {
        long[] ids = new long[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = (long) Math.floor(random.nextDouble() * vocab);
        }
        return ids;
    }

    /** @return {@code ids} truncated to {@code rows}, or repeated {@code ceil(rows / len)} times and truncated */
    static long[] repeatOrTruncate(long[] ids, int rows) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("prompt_tuning_init_text gives no tokens");
        }
        long[] out = new long[rows];
        for (int i = 0; i < rows; i++) {
            out[i] = ids[i % ids.length];
        }
        return out;
    }

    /**
     * Tokenizes the init text with special tokens, as {@code tokenizer(text)["input_ids"]}.
     *
     * @param text the text
     * @param tokenizerPath a {@code tokenizer.json} or its directory, or null for {@code own}
     * @param own the model's tokenizer, or null
     * @return the ids
     * @throws IllegalArgumentException naming {@code tokenizer_name_or_path} when no tokenizer is found
     */
    static long[] textIds(String text, String tokenizerPath, TextTokenizer own) {
        if (tokenizerPath == null) {
            if (own == null) {
                throw new IllegalArgumentException("prompt_tuning_init TEXT needs tokenizer_name_or_path (a local"
                        + " tokenizer.json or its directory): the base model has no tokenizer");
            }
            return own.encode(text).ids();
        }
        Path p = Path.of(tokenizerPath);
        Path file = Files.isDirectory(p) ? p.resolve("tokenizer.json") : p;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("tokenizer_name_or_path '" + tokenizerPath + "': no tokenizer.json"
                    + " there (peft4j reads local files only)");
        }
        try (TextTokenizer t = TextTokenizer.builder().setTokenizerFile(file).optAddSpecialTokens(true)
                .optTruncation(false).setMaxLength(1 << 20).build()) {
            return t.encode(text).ids();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + file, e);
        }
    }

    /**
     * @param manager owner of the result
     * @param words the word-embedding table {@code [vocab, dim]}
     * @param ids rows to take
     * @return {@code [ids.length, dim]} float32 copies of those rows
     * @throws IllegalArgumentException when an id is outside the vocabulary
     */
    static NDArray rows(NDManager manager, NDArray words, long[] ids) {
        long vocab = words.getShape().get(0);
        for (long id : ids) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the base model's vocabulary of "
                        + vocab + " (ids " + Arrays.toString(ids) + ")");
            }
        }
        try (NDManager sub = words.getManager().newSubManager()) {
            NDArray picked = words.get(sub.create(ids));
            picked.attach(sub);
            NDArray f32 = picked.getDataType() == DataType.FLOAT32 ? picked : picked.toType(DataType.FLOAT32, false);
            return manager.create(f32.toFloatArray(), new Shape(ids.length, words.getShape().get(1)));
        }
    }
}
