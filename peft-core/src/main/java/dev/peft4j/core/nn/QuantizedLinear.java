package dev.peft4j.core.nn;

import ai.djl.ndarray.types.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A linear layer whose weight is stored quantized (a 4-bit layer): what adapter code needs to know
 * of it without depending on the quantization module. The effective weight is {@link
 * #denseWeight}; {@link #dequantize} turns the layer into a dense {@link Linear} computing the same.
 */
public interface QuantizedLinear extends LinearLike {

    /** @return whether a quantized weight is loaded */
    boolean hasWeight();

    /**
     * @return the quantization in words, as recorded in adapter files, e.g. {@code nf4, blocksize
     *     64, double quant}
     */
    String quantization();

    /**
     * A dense layer holding this layer's dequantized weight (and a copy of its bias), as {@link
     * Linear#copyOf}; arrays are owned by the manager of this layer's arrays.
     *
     * @param dtype FLOAT32 or FLOAT16
     * @return the dense layer
     */
    Linear dequantize(DataType dtype);

    /**
     * Replaces every quantized linear layer under {@code root} by its {@linkplain #dequantize dense
     * copy}, as transformers' {@code model.dequantize()}.
     *
     * @param root the model, changed in place
     * @param dtype FLOAT32 or FLOAT16
     * @return the replaced paths, in pre-order
     */
    static List<String> dequantizeAll(Module root, DataType dtype) {
        List<String> replaced = new ArrayList<>();
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            if (e.getValue() instanceof QuantizedLinear q && !e.getKey().isEmpty()) {
                root.setModule(e.getKey(), q.dequantize(dtype));
                replaced.add(e.getKey());
            }
        }
        Logger log = LoggerFactory.getLogger(QuantizedLinear.class);
        log.info("replaced {} quantized layers by dense {} ones", replaced.size(), dtype);
        return replaced;
    }

    /**
     * @param root a model
     * @return the {@linkplain #quantization quantization} of its first quantized layer holding a
     *     weight; null when it has none
     */
    static String quantizationOf(Module root) {
        for (Module m : root.namedModules().values()) {
            if (m instanceof QuantizedLinear q && q.hasWeight()) {
                return q.quantization();
            }
        }
        return null;
    }
}
