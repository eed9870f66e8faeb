package dev.peft4j.minilm;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Runs a BERT-style ONNX encoder in ONNX Runtime to get reference outputs for tests.
 *
 * <p>The model takes INT64 {@code [batch, seq]} inputs {@code input_ids}, {@code attention_mask}
 * and {@code token_type_ids} (those the model declares) and returns the last hidden state {@code
 * [batch, seq, hidden]} and, optionally, the pooler output {@code [batch, hidden]}. For {@link
 * #allMiniLmL6V2()} these outputs are named {@code output_0} and {@code 882}.
 *
 * <pre>{@code
 * try (OnnxReference ref = OnnxReference.allMiniLmL6V2()) {
 *     OnnxReference.Outputs out = ref.run(batch.ids(), batch.attentionMask(), batch.typeIds());
 *     double[][] embeddings = OnnxReference.meanPool(out.lastHiddenState(), batch.attentionMask());
 * }
 * }</pre>
 */
public final class OnnxReference implements AutoCloseable {

    /** Output name of the last hidden state in the all-MiniLM-L6-v2 ONNX model. */
    public static final String MINILM_LAST_HIDDEN_STATE = "output_0";

    /** Output name of the pooler output (tanh(dense(h[:, 0]))) in the all-MiniLM-L6-v2 model. */
    public static final String MINILM_POOLER_OUTPUT = "882";

    /**
     * The reference outputs.
     *
     * @param lastHiddenState {@code [batch, seq, hidden]}
     * @param poolerOutput {@code [batch, hidden]}, or {@code null} when not requested
     */
    public record Outputs(float[][][] lastHiddenState, float[][] poolerOutput) {}

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String lastHiddenStateName;
    private final String poolerOutputName;

    /**
     * Loads a model into ONNX Runtime (one intra-op thread, to be gentle on shared machines).
     *
     * @param model the ONNX model bytes
     * @param lastHiddenStateName the output holding the last hidden state
     * @param poolerOutputName the output holding the pooler output, or {@code null}
     * @throws IOException when ONNX Runtime refuses the model
     */
    public OnnxReference(byte[] model, String lastHiddenStateName, String poolerOutputName)
            throws IOException {
        this.env = OrtEnvironment.getEnvironment();
        this.lastHiddenStateName = lastHiddenStateName;
        this.poolerOutputName = poolerOutputName;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            opts.setInterOpNumThreads(1);
            this.session = env.createSession(model, opts);
        } catch (OrtException e) {
            throw new IOException("ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    /**
     * @return ONNX Runtime on {@code builtin:all-minilm-l6-v2}'s ONNX model
     * @throws IOException when the model cannot be read or loaded
     */
    public static OnnxReference allMiniLmL6V2() throws IOException {
        BuiltinModel m = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        byte[] bytes;
        try (InputStream in = m.openOnnxModel()) {
            bytes = in.readAllBytes();
        }
        return new OnnxReference(bytes, MINILM_LAST_HIDDEN_STATE, MINILM_POOLER_OUTPUT);
    }

    /** @return the model's input names */
    public Set<String> inputNames() {
        return session.getInputNames();
    }

    /** @return the model's output names */
    public Set<String> outputNames() {
        return session.getOutputNames();
    }

    /**
     * Runs the model.
     *
     * @param inputIds {@code [batch, seq]} token ids
     * @param attentionMask {@code [batch, seq]}, 1 for tokens, 0 for padding
     * @param tokenTypeIds {@code [batch, seq]} segment ids
     * @return the outputs
     * @throws IOException when ONNX Runtime fails
     */
    public Outputs run(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds)
            throws IOException {
        Map<String, long[][]> given =
                Map.of(
                        "input_ids", inputIds,
                        "attention_mask", attentionMask,
                        "token_type_ids", tokenTypeIds);
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            for (String name : session.getInputNames()) {
                long[][] value = given.get(name);
                if (value == null) {
                    throw new IOException("the model needs an unsupported input '" + name + "'");
                }
                inputs.put(name, OnnxTensor.createTensor(env, value));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                float[][][] hidden = (float[][][]) output(result, lastHiddenStateName);
                float[][] pooled =
                        poolerOutputName == null
                                ? null
                                : (float[][]) output(result, poolerOutputName);
                return new Outputs(hidden, pooled);
            }
        } catch (OrtException e) {
            throw new IOException("ONNX Runtime failed: " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * Mean pooling as sentence-transformers does it: the average of the hidden states of the
     * positions whose mask is 1.
     *
     * @param hidden {@code [batch, seq, hidden]}
     * @param attentionMask {@code [batch, seq]}
     * @return {@code [batch, hidden]}, computed in double precision
     */
    public static double[][] meanPool(float[][][] hidden, long[][] attentionMask) {
        double[][] out = new double[hidden.length][];
        for (int b = 0; b < hidden.length; b++) {
            int dim = hidden[b][0].length;
            double[] sum = new double[dim];
            long count = 0;
            for (int t = 0; t < hidden[b].length; t++) {
                if (attentionMask[b][t] != 0) {
                    count++;
                    for (int d = 0; d < dim; d++) {
                        sum[d] += hidden[b][t][d];
                    }
                }
            }
            for (int d = 0; d < dim; d++) {
                sum[d] /= Math.max(count, 1);
            }
            out[b] = sum;
        }
        return out;
    }

    private static Object output(OrtSession.Result result, String name)
            throws OrtException, IOException {
        Optional<OnnxValue> value = result.get(name);
        if (value.isEmpty()) {
            throw new IOException("the model has no output '" + name + "'");
        }
        return value.get().getValue();
    }

    @Override
    public void close() throws IOException {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IOException(e);
        }
    }
}
