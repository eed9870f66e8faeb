package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.Device;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.checkpoint.FrozenLinear;
import dev.peft4j.core.checkpoint.FrozenLinearTape;
import dev.peft4j.core.checkpoint.GradMode;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.QuantizedLinear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ReplaceableWeight;
import dev.peft4j.quant.NDArrayDequantizer;
import dev.peft4j.quant.NestedAbsmax;
import dev.peft4j.quant.QuantState;
import dev.peft4j.quant.QuantizedTensor;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * A linear layer whose weight is frozen in 4 bits (NF4 or FP4), like bitsandbytes' {@code
 * Linear4bit}: {@code y = x·dequant(W)ᵀ + b}.
 *
 * <p><b>Parameters</b> follow transformers' layout: {@code weight} holds the packed codes, UINT8
 * {@code [ceil(out·in/2), 1]}, always frozen (unfreezing it fails: integer arrays take no
 * gradient); {@code bias} {@code [out]} is an ordinary floating parameter. {@link #parameterSize}
 * reports the logical {@code out·in} for {@code weight}, so parameter counts match PEFT's.
 *
 * <p><b>Quantization state.</b> The layer keeps the {@link QuantState} (in Java, nested form
 * included, for saving in the bitsandbytes layout) and, on the weight's device, the block scales
 * as bitsandbytes keeps them: float32 {@code [blocks]}, or with double quantization their 8-bit
 * codes, the code table and a float32 absmax per 256 blocks, dequantized per call ({@link
 * NDArrayDequantizer#nestedAbsmax}). Device memory per weight is therefore {@code out·in/2} bytes
 * of codes plus {@code 4·out·in/blocksize} bytes of scales (4.5 bits per parameter at block size
 * 64), or {@code out·in/blocksize·(1 + 4/256)} with double quantization (4.127 bits).
 *
 * <p><b>Forward</b> dequantizes the weight with NDArray operations ({@link NDArrayDequantizer}) on
 * the input's device, casts input, weight and bias to the compute dtype (the configured one, else
 * FLOAT32 on CPU and FLOAT16 on GPU), multiplies, and casts the result back to the input's dtype.
 * The dequantized weight lives only for the call (autograd keeps what backward needs); gradients
 * reach the input and the bias, never the packed weight. Under a {@link FrozenLinearTape} (a
 * layer recomputed by gradient checkpointing) with a frozen or absent bias, the output is
 * computed without recording and the tape gets {@code dy ↦ dy·dequant(W)}, so that no
 * dequantized weight outlives the call. As a {@link FrozenLinear} it hands out the same input
 * gradient without being run, so a recomputation can skip it when it is an output projection.
 *
 * <p>A new layer is a shell: its weight arrives from {@link QuantizedLoader} or {@link
 * #setQuantized}. {@link #replaceWeight} (merging) re-quantizes a dense weight.
 */
public class Linear4bit extends Module implements QuantizedLinear, ReplaceableWeight, FrozenLinear {

    private static final Logger LOG = LoggerFactory.getLogger(Linear4bit.class);

    private final long inFeatures;
    private final long outFeatures;
    private final QuantizationConfig config;
    private QuantState state;
    /** FLOAT32 block scales, when the state is not double-quantized. */
    private NDArray absmax;
    /** {codes, code table, nested absmax} ({@link NDArrayDequantizer#nestedParts}), when it is. */
    private NDArray[] nestedScales;

    /**
     * Creates an empty shell.
     *
     * @param inFeatures input width, positive
     * @param outFeatures output width, positive
     * @param bias whether the layer has a bias
     * @param config quant type, block size, double quant and compute dtype for quantizing
     */
    public Linear4bit(long inFeatures, long outFeatures, boolean bias, QuantizationConfig config) {
        if (inFeatures <= 0 || outFeatures <= 0) {
            throw new IllegalArgumentException(
                    "Linear4bit needs positive sizes, got in=" + inFeatures + " out=" + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.config = Objects.requireNonNull(config, "config");
        long packed = (Math.multiplyExact(inFeatures, outFeatures) + 1) / 2;
        registerParameter("weight", Parameter.Type.WEIGHT, new Shape(packed, 1)).freeze(true);
        if (bias) {
            registerParameter("bias", Parameter.Type.BIAS, new Shape(outFeatures));
        }
    }

    @Override
    public long inFeatures() {
        return inFeatures;
    }

    @Override
    public long outFeatures() {
        return outFeatures;
    }

    /** @return the settings this layer quantizes with */
    public QuantizationConfig config() {
        return config;
    }

    /** @return whether the weight has been set */
    @Override
    public boolean hasWeight() {
        return state != null;
    }

    /** @return e.g. {@code nf4, blocksize 64, double quant}, from the quantization state */
    @Override
    public String quantization() {
        QuantState st = quantState();
        return st.quantType().bnbName() + ", blocksize " + st.blocksize()
                + (st.nested().isPresent() ? ", double quant" : "");
    }

    /** A dense copy ({@link Linear#copyOf}) owned by the manager of this layer's weight. */
    @Override
    public Linear dequantize(DataType dtype) {
        return Linear.copyOf(this, dtype, parameter("weight").getArray().getManager());
    }

    /**
     * @return the quantization state
     * @throws IllegalStateException when the weight has not been set
     */
    public QuantState quantState() {
        checkLoaded();
        return state;
    }

    /**
     * Sets the weight from a quantized tensor: the packed codes and the float32 block scales go to
     * {@code manager}'s device, owned by {@code manager}.
     *
     * @param tensor the weight, shape {@code [out, in]}
     * @param manager owner of the device arrays
     * @throws IllegalArgumentException when the tensor's shape is not {@code [out, in]}
     */
    public void setQuantized(QuantizedTensor tensor, NDManager manager) {
        QuantState s = tensor.state();
        if (!Arrays.equals(s.shape(), new long[] {outFeatures, inFeatures})) {
            throw new IllegalArgumentException(
                    "Linear4bit(in=" + inFeatures + ", out=" + outFeatures
                            + ") needs a weight of shape [" + outFeatures + ", " + inFeatures
                            + "], got " + Arrays.toString(s.shape()));
        }
        ByteBuffer bytes = ByteBuffer.allocateDirect(Math.toIntExact(s.packedSize()));
        bytes.put(tensor.packedBuffer()).flip();
        Parameter weight = parameter("weight");
        if (weight.isInitialized()) {
            weight.getArray().set(bytes);
        } else {
            NDArray packed = manager.create(bytes, new Shape(s.packedSize(), 1), DataType.UINT8);
            weight.setArray(packed);
        }
        closeScales();
        if (s.nested().isPresent()) {
            nestedScales = NDArrayDequantizer.nestedParts(s.nested().get(), manager);
            nestedScales[0].setName("weight.absmax.codes");
            nestedScales[1].setName("weight.absmax.code");
            nestedScales[2].setName("weight.absmax.absmax");
        } else {
            absmax = NDArrayDequantizer.blockAbsmax(s, manager);
            absmax.setName("weight.absmax");
        }
        state = s;
    }

    /**
     * @return the weight as a quantized tensor (packed bytes copied from the device)
     * @throws IllegalStateException when the weight has not been set
     */
    public QuantizedTensor quantizedTensor() {
        checkLoaded();
        byte[] bytes = parameter("weight").getArray().toByteArray();
        return new QuantizedTensor(bytes, state);
    }

    /**
     * @return bytes the weight occupies on its device: packed codes plus the block scales (float32
     *     per block; double-quantized: a byte per block, a float32 per nested block and the
     *     256-entry code table)
     * @throws IllegalStateException when the weight has not been set
     */
    public long deviceBytes() {
        checkLoaded();
        if (nestedScales != null) {
            return state.packedSize() + state.blockCount() + 4L * nestedScales[2].size()
                    + 4L * nestedScales[1].size();
        }
        return state.packedSize() + 4L * state.blockCount();
    }

    /** The float32 block scales, dequantized when nested, owned by {@code manager} (for tests). */
    NDArray absmaxArray(NDManager manager) {
        checkLoaded();
        try (NDManager sub = manager.newSubManager()) {
            NDArray scales = blockScales(absmaxDevice(), sub);
            NDArray copy = scales.duplicate();
            copy.attach(manager);
            return copy;
        }
    }

    private Device absmaxDevice() {
        return nestedScales != null ? nestedScales[0].getDevice() : absmax.getDevice();
    }

    /**
     * The float32 block scales on {@code device}, owned by {@code sub} (the stored array, attached
     * for the scope, when it is not nested and already there).
     */
    private NDArray blockScales(Device device, NDManager sub) {
        if (nestedScales == null) {
            NDArray scales = absmax;
            if (!scales.getDevice().equals(device)) {
                scales = scales.toDevice(device, true);
                scales.attach(sub);
            } else {
                scales.tempAttach(sub);
            }
            return scales;
        }
        NDArray[] parts = nestedScales.clone();
        if (!parts[0].getDevice().equals(device)) {
            for (int i = 0; i < parts.length; i++) {
                parts[i] = parts[i].toDevice(device, true);
                parts[i].attach(sub);
            }
        }
        NestedAbsmax nested = state.nested().orElseThrow();
        NDArray out = NDArrayDequantizer.nestedAbsmax(parts[0], parts[1], parts[2], nested.offset(),
                nested.blocksize());
        out.attach(sub);
        return out;
    }

    private void closeScales() {
        if (absmax != null) {
            absmax.close();
            absmax = null;
        }
        if (nestedScales != null) {
            for (NDArray a : nestedScales) {
                a.close();
            }
            nestedScales = null;
        }
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        checkLoaded();
        FrozenLinearTape tape = FrozenLinearTape.active();
        Parameter b = biasParameter();
        // DJL cannot tell whether a non-leaf x requires a gradient: record whenever the tape is on
        // (where x has none, the tape's input gradient goes nowhere)
        if (tape != null && training && (b == null || !b.requiresGradient())) {
            if (!GradMode.isEnabled()) {
                tape.declare(); // a pass that records nothing: say this layer would use the tape
                return compute(ps, x, training);
            }
            NDArray y;
            try (GradMode off = GradMode.set(false)) {
                y = compute(ps, x, training);
            }
            return tape.record(x, y, dy -> inputGradient(dy, x.getDataType()));
        }
        return compute(ps, x, training);
    }

    /**
     * {@code dy ↦ dy·dequant(W)} (dequantizing when called) when the bias is frozen or absent, else
     * null; the weight is always frozen.
     */
    @Override
    public FrozenLinearTape.InputGradient frozenInputGradient(ParameterStore ps) {
        checkLoaded();
        Parameter b = biasParameter();
        if (b != null && b.requiresGradient()) {
            return null;
        }
        return dy -> inputGradient(dy, dy.getDataType());
    }

    /** {@code dy·dequant(W)} in the compute dtype, cast to {@code type}; in {@code dy}'s manager. */
    private NDArray inputGradient(NDArray dy, DataType type) {
        Device device = dy.getDevice();
        DataType compute = QuantizationConfig.computeDtypeFor(config.computeDtype().orElse(null), device);
        NDArray packed = parameter("weight").getArray();
        NDManager parent = dy.getManager();
        try (NDManager sub = parent.newSubManager(device)) {
            NDArray w = dequantizeOn(packed, device, compute, sub);
            NDArray dyc = dy.getDataType() == compute ? dy : dy.toType(compute, false);
            NDArray dx = dyc.matMul(w);
            if (dx.getDataType() != type) {
                dx = dx.toType(type, false);
            }
            dx.attach(parent);
            return dx;
        }
    }

    /** The weight dequantized to {@code compute} on {@code device}, owned by {@code sub}. */
    private NDArray dequantizeOn(NDArray packed, Device device, DataType compute, NDManager sub) {
        if (!packed.getDevice().equals(device)) {
            packed = packed.toDevice(device, true);
            packed.attach(sub);
        } else {
            packed.tempAttach(sub);
        }
        NDArray scales = blockScales(device, sub);
        NDArray w = NDArrayDequantizer.dequantize(packed, scales, state, compute);
        w.attach(sub);
        return w;
    }

    /** {@code x·dequant(W)ᵀ + b}, recorded when the engine records. */
    private NDArray compute(ParameterStore ps, NDArray x, boolean training) {
        Device device = x.getDevice();
        DataType compute = QuantizationConfig.computeDtypeFor(config.computeDtype().orElse(null), device);
        NDArray packed = ps.getValue(parameter("weight"), device, training);
        Parameter b = biasParameter();
        NDArray bias = b == null ? null : ps.getValue(b, device, training);
        NDManager parent = x.getManager();
        try (NDManager sub = parent.newSubManager(device)) {
            packed.tempAttach(sub);
            NDArray scales = blockScales(device, sub);
            NDArray w = NDArrayDequantizer.dequantize(packed, scales, state, compute);
            NDArray xc = x.getDataType() == compute ? x : x.toType(compute, false);
            NDArray bc = bias == null || bias.getDataType() == compute
                    ? bias : bias.toType(compute, false);
            NDArray y = ai.djl.nn.core.Linear.linear(xc, w, bc).singletonOrThrow();
            if (y.getDataType() != x.getDataType()) {
                y = y.toType(x.getDataType(), false);
            }
            y.attach(parent);
            return y;
        }
    }

    /**
     * The dequantized weight in float32, on {@code manager}'s device.
     *
     * @param manager owner of the result
     * @return a new {@code [out, in]} FLOAT32 array
     */
    @Override
    public NDArray denseWeight(NDManager manager) {
        checkLoaded();
        NDArray packed = parameter("weight").getArray();
        try (NDManager sub = packed.getManager().newSubManager()) {
            packed.tempAttach(sub);
            NDArray scales = blockScales(packed.getDevice(), sub);
            NDArray w = NDArrayDequantizer.dequantize(packed, scales, state, DataType.FLOAT32);
            if (!w.getDevice().equals(manager.getDevice())) {
                w = w.toDevice(manager.getDevice(), false);
            }
            w.attach(manager);
            return w;
        }
    }

    /**
     * Re-quantizes a dense weight with this layer's quant type, block size, double quantization
     * and recorded dtype, replacing the codes and scales in place. The result differs from {@code
     * dense} by the 4-bit rounding, so a merged 4-bit layer does not reproduce the unmerged
     * layer's outputs exactly; a warning says so.
     *
     * @param dense the new weight {@code [out, in]}, any floating type; left open
     */
    public void requantize(NDArray dense) {
        checkLoaded();
        long[] want = {outFeatures, inFeatures};
        if (!Arrays.equals(dense.getShape().getShape(), want)) {
            throw new IllegalArgumentException(
                    "Linear4bit.requantize: weight must have shape " + Arrays.toString(want)
                            + ", got " + dense.getShape());
        }
        float[] values;
        if (dense.getDataType() == DataType.FLOAT32) {
            values = dense.toFloatArray();
        } else {
            try (NDArray f = dense.toType(DataType.FLOAT32, true)) {
                values = f.toFloatArray();
            }
        }
        QuantizedTensor q =
                QuantizationConfig.builder()
                        .setQuantType(state.quantType())
                        .optBlocksize(state.blocksize())
                        .optDoubleQuant(state.isDoubleQuant())
                        .build()
                        .quantizer(state.dtype())
                        .quantize(values, want);
        LOG.warn(
                "re-quantizing a {}x{} 4-bit weight: the result differs from the dense weight by"
                        + " {} rounding",
                outFeatures, inFeatures, state.quantType());
        setQuantized(q, parameter("weight").getArray().getManager());
    }

    /** Re-quantizes; see {@link #requantize}. */
    @Override
    public void replaceWeight(NDArray dense) {
        requantize(dense);
    }

    @Override
    public Parameter biasParameter() {
        return directParameters().get("bias");
    }

    /** @return {@code [out, in]} for {@code weight} (a checkpoint's dense form), else declared */
    @Override
    public Shape checkpointShape(String name) {
        return name.equals("weight") ? new Shape(outFeatures, inFeatures) : expectedShape(name);
    }

    /** @return {@code out·in} for {@code weight} (the logical count), the array size otherwise */
    @Override
    protected long parameterSize(String name) {
        if ("weight".equals(name)) {
            return inFeatures * outFeatures;
        }
        return super.parameterSize(name);
    }

    /**
     * Initializes the bias when it has no value; the weight must already be set.
     *
     * @throws IllegalStateException when the weight has not been set
     */
    @Override
    public void initialize(NDManager manager, DataType dataType, Shape... inputShapes) {
        if (state == null) {
            throw new IllegalStateException(
                    "Linear4bit(in=" + inFeatures + ", out=" + outFeatures
                            + "): a 4-bit weight cannot be initialized randomly; load it"
                            + " (QuantizedLoader) or set it (setQuantized)");
        }
        super.initialize(manager, dataType, inputShapes);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(outFeatures)};
    }

    private void checkLoaded() {
        if (state == null) {
            throw new IllegalStateException(
                    "Linear4bit(in=" + inFeatures + ", out=" + outFeatures
                            + ") has no weight yet: load it (QuantizedLoader) or call setQuantized");
        }
    }

    @Override
    public String toString() {
        return "Linear4bit(in=" + inFeatures + ", out=" + outFeatures + ", bias="
                + (biasParameter() != null) + ", " + (state == null ? config.quantType() : state.quantType())
                + ")";
    }
}
