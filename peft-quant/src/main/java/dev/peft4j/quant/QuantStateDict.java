package dev.peft4j.quant;

import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.TensorSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The state-dict form of a 4-bit tensor, with the keys transformers and bitsandbytes use for a
 * quantized {@code X.weight} ({@code Linear4bit._save_to_state_dict}):
 *
 * <ul>
 *   <li>{@code X.weight}: the packed codes, U8 {@code [ceil(n/2), 1]};
 *   <li>{@code X.weight.absmax}: the block scales, F32 {@code [blocks]}, or U8 {@code [blocks]}
 *       with double quantization;
 *   <li>{@code X.weight.quant_map}: the 16 code values, F32 {@code [16]};
 *   <li>{@code X.weight.nested_absmax}, {@code X.weight.nested_quant_map}: with double quantization,
 *       F32 {@code [ceil(blocks/256)]} and F32 {@code [256]};
 *   <li>{@code X.weight.quant_state.bitsandbytes__nf4} (or {@code __fp4}): U8 bytes of the JSON
 *       described in {@link QuantStateJson}.
 * </ul>
 *
 * <p>Reading validates every key and size and throws {@link IllegalArgumentException} naming the
 * offending key.
 */
public final class QuantStateDict {

    /** Suffix of the block-scale tensor. */
    public static final String ABSMAX = ".absmax";
    /** Suffix of the 4-bit code table. */
    public static final String QUANT_MAP = ".quant_map";
    /** Suffix of the nested block scales. */
    public static final String NESTED_ABSMAX = ".nested_absmax";
    /** Suffix of the 8-bit code table. */
    public static final String NESTED_QUANT_MAP = ".nested_quant_map";
    /** Suffix of the JSON blob, followed by the quant type's name. */
    public static final String QUANT_STATE = ".quant_state.bitsandbytes__";

    private QuantStateDict() {}

    /**
     * @param key the weight's key, e.g. {@code "model.layers.0.mlp.down_proj.weight"}
     * @param tensor the quantized tensor
     * @return the entries in bitsandbytes' order, keyed by full name
     */
    public static Map<String, StateTensor> toStateDict(String key, QuantizedTensor tensor) {
        QuantState state = tensor.state();
        Map<String, StateTensor> out = new LinkedHashMap<>();
        out.put(key, StateTensor.ofBytes(new long[] {state.packedSize(), 1}, tensor.packedArray()));
        long blocks = state.blockCount();
        if (state.nested().isPresent()) {
            NestedAbsmax nested = state.nested().get();
            out.put(key + ABSMAX, StateTensor.ofBytes(new long[] {blocks}, nested.codes()));
            out.put(key + QUANT_MAP, StateTensor.ofFloats(new long[] {16}, state.quantType().code()));
            float[] nestedAbsmax = nested.absmax();
            out.put(key + NESTED_ABSMAX,
                    StateTensor.ofFloats(new long[] {nestedAbsmax.length}, nestedAbsmax));
            out.put(key + NESTED_QUANT_MAP, StateTensor.ofFloats(new long[] {256}, nested.code()));
        } else {
            out.put(key + ABSMAX,
                    StateTensor.ofFloats(new long[] {blocks}, state.absmax().orElseThrow()));
            out.put(key + QUANT_MAP, StateTensor.ofFloats(new long[] {16}, state.quantType().code()));
        }
        byte[] json = QuantStateJson.write(state);
        out.put(key + QUANT_STATE + state.quantType().bnbName(),
                StateTensor.ofBytes(new long[] {json.length}, json));
        return out;
    }

    /**
     * Adds the state-dict entries of a quantized tensor to a safetensors writer.
     *
     * @param writer the writer
     * @param key the weight's key
     * @param tensor the quantized tensor
     * @return the writer
     */
    public static SafetensorsWriter addTo(
            SafetensorsWriter writer, String key, QuantizedTensor tensor) {
        for (Map.Entry<String, StateTensor> e : toStateDict(key, tensor).entrySet()) {
            StateTensor t = e.getValue();
            writer.add(e.getKey(), t.dtype(), t.shape(), ByteBuffer.wrap(t.data()));
        }
        return writer;
    }

    /**
     * Whether a collection of names holds a 4-bit quantized tensor under {@code key}.
     *
     * @param key the weight's key
     * @param names tensor names
     * @return true when a {@code key.quant_state.bitsandbytes__*} entry exists
     */
    public static boolean isQuantized(String key, Iterable<String> names) {
        for (String name : names) {
            if (name.startsWith(key + QUANT_STATE)) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param key the weight's key
     * @param dict entries by full name (other keys are ignored)
     * @return the quantized tensor
     * @throws IllegalArgumentException naming the key when an entry is missing or malformed
     */
    public static QuantizedTensor fromStateDict(String key, Map<String, StateTensor> dict) {
        String stateKey = findStateKey(key, dict.keySet());
        QuantType keyType = QuantType.fromBnbName(stateKey.substring((key + QUANT_STATE).length()));
        StateTensor json = require(dict, stateKey);
        expect(stateKey, json, DType.U8, json.numel());
        QuantStateJson.Fields f = QuantStateJson.parse(json.data(), stateKey);
        if (f.quantType() != keyType) {
            throw new IllegalArgumentException(
                    stateKey + ": quant_type '" + f.quantType().bnbName()
                            + "' does not match the key");
        }
        Blocksizes.check(f.blocksize(), stateKey + ": blocksize");
        long numel = 1;
        for (long d : f.shape()) {
            numel = Math.multiplyExact(numel, d);
        }
        long blocks = (numel + f.blocksize() - 1) / f.blocksize();

        StateTensor packed = require(dict, key);
        expect(key, packed, DType.U8, (numel + 1) / 2);

        StateTensor quantMap = require(dict, key + QUANT_MAP);
        expect(key + QUANT_MAP, quantMap, DType.F32, 16);
        if (!Arrays.equals(quantMap.toFloats(), f.quantType().code())) {
            throw new IllegalArgumentException(
                    key + QUANT_MAP + ": not the standard " + f.quantType().bnbName()
                            + " code table (custom tables are not supported): "
                            + Arrays.toString(quantMap.toFloats()));
        }

        StateTensor absmax = require(dict, key + ABSMAX);
        boolean nested = f.nestedOffset() != null;
        NestedAbsmax nestedAbsmax = null;
        if (nested) {
            expect(key + ABSMAX, absmax, DType.U8, blocks);
            if (!"float32".equals(f.nestedDtype())) {
                throw new IllegalArgumentException(
                        stateKey + ": nested_dtype must be float32, got " + f.nestedDtype());
            }
            Blocksizes.check(f.nestedBlocksize(), stateKey + ": nested_blocksize");
            StateTensor scales = require(dict, key + NESTED_ABSMAX);
            expect(key + NESTED_ABSMAX, scales, DType.F32,
                    (blocks + f.nestedBlocksize() - 1) / f.nestedBlocksize());
            StateTensor nestedMap = require(dict, key + NESTED_QUANT_MAP);
            expect(key + NESTED_QUANT_MAP, nestedMap, DType.F32, 256);
            try {
                nestedAbsmax =
                        new NestedAbsmax(
                                absmax.data(),
                                scales.toFloats(),
                                nestedMap.toFloats(),
                                f.nestedOffset(),
                                f.nestedBlocksize());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + NESTED_ABSMAX + ": " + e.getMessage(), e);
            }
        } else {
            if (dict.containsKey(key + NESTED_ABSMAX)) {
                throw new IllegalArgumentException(
                        stateKey + ": no nested_offset/nested_blocksize although " + key
                                + NESTED_ABSMAX + " exists");
            }
            expect(key + ABSMAX, absmax, DType.F32, blocks);
        }
        try {
            QuantState.Builder builder =
                    QuantState.builder()
                            .setQuantType(f.quantType())
                            .setBlocksize(f.blocksize())
                            .setShape(f.shape())
                            .optDtype(f.dtype());
            if (nested) {
                builder.setNested(nestedAbsmax);
            } else {
                builder.setAbsmax(absmax.toFloats());
            }
            return QuantizedTensor.wrap(packed.data(), builder.build());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(stateKey + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a quantized tensor from a checkpoint.
     *
     * @param key the weight's key
     * @param source the checkpoint
     * @return the quantized tensor
     * @throws IOException when the bytes cannot be read
     * @throws IllegalArgumentException naming the key when an entry is missing or malformed
     */
    public static QuantizedTensor read(String key, TensorSource source) throws IOException {
        Map<String, StateTensor> dict = new LinkedHashMap<>();
        for (String name : source.names()) {
            if (name.equals(key) || name.startsWith(key + ".")) {
                dict.put(name, StateTensor.read(source, name));
            }
        }
        return fromStateDict(key, dict);
    }

    private static String findStateKey(String key, Iterable<String> names) {
        List<String> found = new ArrayList<>();
        for (String name : names) {
            if (name.startsWith(key + QUANT_STATE)) {
                found.add(name);
            }
        }
        if (found.isEmpty()) {
            throw new IllegalArgumentException(
                    "missing key " + key + QUANT_STATE + "nf4 (or __fp4): " + key
                            + " is not a bitsandbytes 4-bit tensor");
        }
        if (found.size() > 1) {
            throw new IllegalArgumentException("more than one quant state for " + key + ": " + found);
        }
        String stateKey = found.get(0);
        try {
            QuantType.fromBnbName(stateKey.substring((key + QUANT_STATE).length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(stateKey + ": " + e.getMessage(), e);
        }
        return stateKey;
    }

    private static StateTensor require(Map<String, StateTensor> dict, String name) {
        StateTensor t = dict.get(name);
        if (t == null) {
            throw new IllegalArgumentException("missing key " + name);
        }
        return t;
    }

    private static void expect(String name, StateTensor t, DType dtype, long numel) {
        if (t.dtype() != dtype || t.numel() != numel) {
            throw new IllegalArgumentException(
                    String.format(
                            "%s: expected %s with %d elements, got %s", name, dtype, numel, t));
        }
    }
}
