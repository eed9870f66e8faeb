package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import dev.peft4j.core.nn.Scalars;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * AdapterHub's {@code non_linearity} ({@code Activation_Function_Class}: {@code leakyrelu}, else
 * transformers' {@code get_activation(name.lower())}), for the names bottleneck configs use.
 */
final class NonLinearity {

    private static final Map<String, UnaryOperator<NDArray>> BY_NAME = new TreeMap<>();

    static {
        BY_NAME.put("relu", Activation::relu);
        BY_NAME.put("swish", NonLinearity::silu);
        BY_NAME.put("silu", NonLinearity::silu);
        BY_NAME.put("gelu", Activation::gelu); // exact (erf), as torch's default
        BY_NAME.put("gelu_new", NonLinearity::geluTanh);
        BY_NAME.put("gelu_pytorch_tanh", NonLinearity::geluTanh);
        BY_NAME.put("tanh", Activation::tanh);
        BY_NAME.put("sigmoid", Activation::sigmoid);
        BY_NAME.put("leakyrelu", x -> Activation.leakyRelu(x, 0.01f));
        BY_NAME.put("linear", x -> x);
    }

    private NonLinearity() {}

    /**
     * @param name a {@code non_linearity} (case-insensitive)
     * @return the function
     * @throws IllegalArgumentException naming the field and the known names
     */
    static UnaryOperator<NDArray> of(String name) {
        UnaryOperator<NDArray> f = name == null ? null : BY_NAME.get(name.toLowerCase(Locale.ROOT));
        if (f == null) {
            throw new IllegalArgumentException("non_linearity \"" + name + "\" is not supported (known: "
                    + BY_NAME.keySet() + ")");
        }
        return f;
    }

    private static NDArray silu(NDArray x) {
        return x.mul(Activation.sigmoid(x));
    }

    /** {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}. */
    private static NDArray geluTanh(NDArray x) {
        NDArray inner = Scalars.mul(x.add(Scalars.mul(x.mul(x).mul(x), 0.044715)), Math.sqrt(2 / Math.PI));
        return Scalars.mul(x.mul(Scalars.add(inner.tanh(), 1.0)), 0.5);
    }
}
