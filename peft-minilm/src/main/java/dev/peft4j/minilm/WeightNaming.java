package dev.peft4j.minilm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gives ONNX initializers their Hugging Face names and orientation.
 *
 * <p>The PyTorch exporter turns {@code nn.Linear} into {@code MatMul(x, W^T)} with {@code W^T}
 * stored as an anonymous initializer ({@code onnx::MatMul_885}, shape {@code [in, out]}); the
 * consuming node's name gives the module ({@code /encoder/layer.0/attention/self/query/MatMul} is
 * module {@code encoder.layer.0.attention.self.query}). The rules:
 *
 * <ul>
 *   <li>A rank-2 initializer that is input B of a {@code MatMul}, or of a {@code Gemm} with {@code
 *       transB = 0}, is transposed back to {@code [out, in]}; as {@code Gemm} B with {@code transB
 *       = 1} it is already {@code [out, in]}.
 *   <li>An anonymous initializer (name starting with {@code onnx::}) used as such a weight is named
 *       {@code <module>.weight}; as {@code Gemm} input C it is named {@code <module>.bias}.
 *   <li>Other initializers keep their names; anonymous ones that cannot be named this way are
 *       dropped (they are exporter constants, not model parameters) and reported.
 * </ul>
 */
final class WeightNaming {

    /**
     * An initializer under its final name.
     *
     * @param name the Hugging Face name
     * @param tensor the parsed initializer
     * @param transposed whether the stored {@code [in, out]} matrix is transposed to {@code [out,
     *     in]}
     */
    record Named(String name, OnnxTensorParser.RawTensor tensor, boolean transposed) {}

    /**
     * The outcome.
     *
     * @param tensors the named tensors, in storage order
     * @param dropped ONNX names of anonymous initializers that could not be named
     */
    record Result(List<Named> tensors, List<String> dropped) {}

    private enum Role {
        WEIGHT_TRANSPOSED,
        WEIGHT_PLAIN,
        BIAS
    }

    private record Use(Role role, String module) {}

    private WeightNaming() {}

    /**
     * Names the model's initializers.
     *
     * @param model the parsed model
     * @param source the model's name, for messages
     * @return the named tensors and the dropped names
     * @throws OnnxFormatException on duplicate names or contradictory uses of one initializer
     */
    static Result apply(OnnxModelParser.ParsedModel model, String source)
            throws OnnxFormatException {
        Map<String, List<Use>> uses = new HashMap<>();
        for (OnnxModelParser.WeightNode node : model.weightNodes()) {
            String module = moduleOf(node.name(), node.opType());
            List<String> in = node.inputs();
            if (in.size() > 1) {
                Role role =
                        "Gemm".equals(node.opType()) && node.transB() != 0
                                ? Role.WEIGHT_PLAIN
                                : Role.WEIGHT_TRANSPOSED;
                uses.computeIfAbsent(in.get(1), k -> new ArrayList<>()).add(new Use(role, module));
            }
            if ("Gemm".equals(node.opType()) && in.size() > 2) {
                uses.computeIfAbsent(in.get(2), k -> new ArrayList<>())
                        .add(new Use(Role.BIAS, module));
            }
        }

        List<Named> named = new ArrayList<>();
        List<String> dropped = new ArrayList<>();
        Map<String, String> taken = new HashMap<>();
        Set<String> onnxNames = new HashSet<>();
        for (OnnxTensorParser.RawTensor t : model.initializers()) {
            if (!onnxNames.add(t.name())) {
                throw new OnnxFormatException(
                        source, "duplicate initializer name '" + t.name() + "'");
            }
            List<Use> u = uses.getOrDefault(t.name(), List.of());
            boolean transposed = t.dims().length == 2 && isTransposed(u, t.name(), source);
            String name = t.name();
            if (isAnonymous(name)) {
                name = derivedName(u);
                if (name == null) {
                    dropped.add(t.name());
                    continue;
                }
            }
            String previous = taken.putIfAbsent(name, t.name());
            if (previous != null) {
                throw new OnnxFormatException(
                        source,
                        "initializers '"
                                + previous
                                + "' and '"
                                + t.name()
                                + "' both map to the tensor name '"
                                + name
                                + "'");
            }
            named.add(new Named(name, t, transposed));
        }
        return new Result(List.copyOf(named), List.copyOf(dropped));
    }

    private static boolean isTransposed(List<Use> uses, String onnxName, String source)
            throws OnnxFormatException {
        boolean transposed = false;
        boolean plain = false;
        for (Use u : uses) {
            transposed |= u.role() == Role.WEIGHT_TRANSPOSED;
            plain |= u.role() == Role.WEIGHT_PLAIN;
        }
        if (transposed && plain) {
            throw new OnnxFormatException(
                    source,
                    "initializer '"
                            + onnxName
                            + "' is used as a weight both as [in, out] and as"
                            + " [out, in]");
        }
        return transposed;
    }

    private static String derivedName(List<Use> uses) {
        for (Use u : uses) {
            if (u.module() != null) {
                return u.module() + (u.role() == Role.BIAS ? ".bias" : ".weight");
            }
        }
        return null;
    }

    /**
     * @param name an initializer name
     * @return whether the exporter made it up ({@code onnx::...})
     */
    static boolean isAnonymous(String name) {
        return name.startsWith("onnx::");
    }

    /**
     * Derives the module path from an exporter node name.
     *
     * @param nodeName e.g. {@code /encoder/layer.0/attention/self/query/MatMul}
     * @param opType the node's op type, which the last path segment must start with
     * @return e.g. {@code encoder.layer.0.attention.self.query}, or {@code null} when the name has
     *     no module path
     */
    static String moduleOf(String nodeName, String opType) {
        if (nodeName == null || !nodeName.startsWith("/")) {
            return null;
        }
        String[] parts = nodeName.substring(1).split("/", -1);
        if (parts.length < 2 || !parts[parts.length - 1].startsWith(opType)) {
            return null;
        }
        StringBuilder module = new StringBuilder();
        for (int i = 0; i < parts.length - 1; i++) {
            if (parts[i].isEmpty() || parts[i].startsWith(".") || parts[i].endsWith(".")) {
                return null;
            }
            if (i > 0) {
                module.append('.');
            }
            module.append(parts[i]);
        }
        return module.toString();
    }
}
