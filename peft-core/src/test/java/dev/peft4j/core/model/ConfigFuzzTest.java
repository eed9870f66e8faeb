package dev.peft4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.testing.Mutator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * Fuzzes {@code config.json} parsing ({@link HfConfig#read} then {@link BertConfig#from} or {@link
 * LlamaConfig#from}) with mutations of valid BERT, Llama and Qwen2 configs: each either yields a
 * consistent configuration or fails with a {@link ConfigException}; nothing else escapes.
 */
class ConfigFuzzTest {

    static final long SEED = 0xc0f19L;
    static final int FILES = 2400;

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final String LLAMA =
            "{\"hidden_size\": 32, \"intermediate_size\": 96, \"num_hidden_layers\": 2,"
                    + " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 128,"
                    + " \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000.0,"
                    + " \"max_position_embeddings\": 128, \"tie_word_embeddings\": false,"
                    + " \"hidden_act\": \"silu\", \"bos_token_id\": 1, \"eos_token_id\": [2, 3],"
                    + " \"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\","
                    + " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0,"
                    + " \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                    + " \"original_max_position_embeddings\": 64}}";

    private static final String QWEN2 =
            "{\"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 2,"
                    + " \"num_attention_heads\": 4, \"num_key_value_heads\": 4, \"vocab_size\": 128,"
                    + " \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0, \"sliding_window\": 32,"
                    + " \"use_sliding_window\": false, \"max_position_embeddings\": 128,"
                    + " \"tie_word_embeddings\": true, \"hidden_act\": \"silu\","
                    + " \"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\","
                    + " \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}";

    private static final String BERT_CLASSIFIER =
            "{\"architectures\": [\"BertForSequenceClassification\"], \"model_type\": \"bert\","
                    + " \"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
                    + " \"intermediate_size\": 16, \"vocab_size\": 50, \"max_position_embeddings\": 16,"
                    + " \"type_vocab_size\": 2, \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12,"
                    + " \"hidden_dropout_prob\": 0.1, \"attention_probs_dropout_prob\": 0.1,"
                    + " \"classifier_dropout\": null, \"num_labels\": 2,"
                    + " \"id2label\": {\"0\": \"NEG\", \"1\": \"POS\"},"
                    + " \"label2id\": {\"NEG\": 0, \"POS\": 1}}";

    @TempDir Path dir;

    @Test
    void mutatedConfigsParseOrFailWithConfigException() throws IOException {
        String minilm;
        try (InputStream in =
                getClass()
                        .getClassLoader()
                        .getResourceAsStream(
                                "dev/peft4j/core/model/all-minilm-l6-v2.config.json")) { // a copy of peft-minilm's
            minilm = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<String> seeds = List.of(minilm, BERT_CLASSIFIER, LLAMA, QWEN2);
        List<Function<HfConfig, Object>> parsers =
                List.of(
                        ConfigFuzzTest::bert,
                        ConfigFuzzTest::bert,
                        ConfigFuzzTest::llama,
                        ConfigFuzzTest::llama);
        for (int s = 0; s < seeds.size(); s++) {
            // The seeds themselves are valid.
            parsers.get(s).apply(HfConfig.read(write(seeds.get(s).getBytes(StandardCharsets.UTF_8))));
        }
        Mutator m = new Mutator(SEED);
        int parsed = 0;
        int rejected = 0;
        for (int i = 0; i < FILES; i++) {
            int s = i % seeds.size();
            String seed = seeds.get(s);
            Mutator.Mutant mutant = m.mutateJson(seed, (i / seeds.size()) % 4, JSON);
            String what = mutant.what();
            byte[] bytes = mutant.bytes();
            String where = "seed " + SEED + " iteration " + i + " (" + what + ")";
            Path file = write(bytes);
            try {
                parsers.get(s).apply(HfConfig.read(file));
                parsed++;
            } catch (ConfigException e) {
                assertEquals(ConfigException.class, e.getClass(), where);
                assertTrue(e.getMessage().contains(file.toString()), where + ": " + e.getMessage());
                rejected++;
            } catch (Throwable e) { // NOPMD: anything else is the bug being looked for
                fail(where + ": " + e, e);
            }
        }
        System.out.printf(
                "config.json fuzz: %d mutated configs (seed %#x): %d parsed, %d rejected with"
                        + " ConfigException, 0 other outcomes%n",
                FILES, SEED, parsed, rejected);
        assertEquals(FILES, parsed + rejected);
        assertTrue(parsed > FILES / 10, "parsed " + parsed);
        assertTrue(rejected > FILES / 3, "rejected " + rejected);
    }

    private Path write(byte[] bytes) throws IOException {
        return Files.write(dir.resolve("config.json"), bytes);
    }

    /** A parsed BERT config is internally consistent. */
    private static Object bert(HfConfig hf) {
        BertConfig c = BertConfig.from(hf);
        assertTrue(c.hiddenSize() > 0 && c.numAttentionHeads() > 0, c.toString());
        assertEquals(c.hiddenSize(), c.headDim() * c.numAttentionHeads(), c.toString());
        assertTrue(c.vocabSize() > 0 && c.intermediateSize() > 0, c.toString());
        assertTrue(c.numLabels() == c.labels().size(), c.toString());
        return c;
    }

    /** A parsed Llama config is internally consistent. */
    private static Object llama(HfConfig hf) {
        LlamaConfig c = LlamaConfig.from(hf);
        assertTrue(c.hiddenSize() > 0 && c.numAttentionHeads() > 0, c.toString());
        assertTrue(c.numKeyValueHeads() > 0, c.toString());
        assertEquals(0, c.numAttentionHeads() % c.numKeyValueHeads(), c.toString());
        assertTrue(c.headDim() > 0 && c.vocabSize() > 0, c.toString());
        return c;
    }
}
