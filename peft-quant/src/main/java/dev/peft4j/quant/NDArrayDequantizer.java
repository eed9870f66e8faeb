package dev.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.nn.Scalars;

import java.nio.ByteBuffer;
import java.util.Set;

/**
 * Dequantization with NDArray operations, on whatever device the arrays live (CPU or CUDA), for
 * layers that keep 4-bit weights on the device and dequantize them per forward pass.
 *
 * <p>Only PyTorch operations that DJL exposes are used (DJL has no bitwise operations): each packed
 * byte, widened to an index, selects a row of a {@code [256, 2]} table holding the code values of
 * its high nibble (the first element) and its low nibble, one gather for both nibbles. The
 * arithmetic is the same float32 multiply (and, for nested scales, multiply then add) as {@link
 * BlockwiseDequantizer}, so both give identical results.
 *
 * <p>Intermediate arrays live in a sub-manager that is closed before returning; only the result
 * stays, attached to the manager of the input arrays. A tensor of more than about a million
 * elements is dequantized in steps of a million elements or an eighth of the tensor, whichever is
 * larger, into its result, so the temporaries (a 64-bit index per byte, the gathered codes, the
 * scaled values: three times the result's size in one go) stay a few MiB, or under 40% of the
 * result for the largest weights.
 */
public final class NDArrayDequantizer {

    private static final Set<DataType> OUTPUT_TYPES =
            Set.of(DataType.FLOAT32, DataType.FLOAT16, DataType.FLOAT64);

    /** The smallest step of a large tensor's dequantization, in elements. */
    static final long CHUNK_ELEMENTS = 1L << 20;

    /**
     * The most steps a tensor is dequantized in. Every step issues about six engine operations,
     * and on a machine with more runnable threads than cores each multi-threaded operation can
     * wait milliseconds for its OpenMP workers: with 43 steps of 2^20 elements a Llama-2-7B MLP
     * weight took 3× as long as in one go under load (2 threads, load average 10); at most 8
     * steps bound that overhead while the temporaries stay under 40% of the result's size.
     */
    static final long MAX_CHUNKS = 8;

    private NDArrayDequantizer() {}

    /**
     * Dequantizes to float32 on {@code manager}'s device.
     *
     * @param tensor the quantized tensor
     * @param manager the manager that will own the result
     * @return a FLOAT32 array of the original shape
     */
    public static NDArray dequantize(QuantizedTensor tensor, NDManager manager) {
        return dequantize(tensor, manager, DataType.FLOAT32);
    }

    /**
     * Dequantizes on {@code manager}'s device.
     *
     * @param tensor the quantized tensor
     * @param manager the manager that will own the result
     * @param outType FLOAT32, FLOAT16 or FLOAT64 (the float32 result cast to it)
     * @return an array of the original shape
     */
    public static NDArray dequantize(
            QuantizedTensor tensor, NDManager manager, DataType outType) {
        checkOutType(outType);
        try (NDManager sub = manager.newSubManager()) {
            NDArray packed = packed(tensor, sub);
            NDArray absmax = blockAbsmax(tensor.state(), sub);
            NDArray out = dequantize(packed, absmax, tensor.state(), outType);
            out.attach(manager);
            return out;
        }
    }

    /**
     * The packed codes as a UINT8 array of {@code ceil(numel / 2)} bytes.
     *
     * @param tensor the quantized tensor
     * @param manager the manager that will own the array
     * @return the packed bytes
     */
    public static NDArray packed(QuantizedTensor tensor, NDManager manager) {
        byte[] bytes = tensor.packedArray();
        ByteBuffer buf = ByteBuffer.allocateDirect(bytes.length);
        buf.put(bytes).flip();
        return manager.create(buf, new Shape(bytes.length), DataType.UINT8);
    }

    /**
     * The float32 absmax of every block, dequantized on the device when it is nested.
     *
     * @param state the quantization state
     * @param manager the manager that will own the array
     * @return a FLOAT32 array of {@link QuantState#blockCount()} values
     */
    public static NDArray blockAbsmax(QuantState state, NDManager manager) {
        if (state.nested().isEmpty()) {
            return manager.create(state.absmax().orElseThrow());
        }
        NestedAbsmax nested = state.nested().get();
        try (NDManager sub = manager.newSubManager()) {
            NDArray[] parts = nestedParts(nested, sub);
            NDArray out = nestedAbsmax(parts[0], parts[1], parts[2], nested.offset(), nested.blocksize());
            out.attach(manager);
            return out;
        }
    }

    /**
     * The device form of double-quantized block scales, as bitsandbytes keeps them: the 8-bit
     * codes (UINT8, one per 4-bit block), the code table (FLOAT32 {@code [256]}) and the float32
     * absmax of every {@code nested.blocksize()} codes; 1 byte per 4-bit block plus 4 bytes per
     * nested block instead of 4 bytes per 4-bit block.
     *
     * @param nested the nested scales
     * @param manager the manager that will own the arrays
     * @return {@code {codes, code table, nested absmax}}
     */
    public static NDArray[] nestedParts(NestedAbsmax nested, NDManager manager) {
        byte[] codes = nested.codes();
        ByteBuffer buf = ByteBuffer.allocateDirect(codes.length);
        buf.put(codes).flip();
        return new NDArray[] {
            manager.create(buf, new Shape(codes.length), DataType.UINT8),
            manager.create(nested.code()),
            manager.create(nested.absmax())
        };
    }

    /**
     * Dequantizes double-quantized block scales from their device form ({@link #nestedParts}):
     * {@code table[codes[i]] * absmax[i / blocksize] + offset} in float32, the same values as
     * {@link NestedAbsmax#dequantize()}.
     *
     * @param codes UINT8, one per 4-bit block
     * @param table FLOAT32 {@code [256]}
     * @param absmax FLOAT32, one per {@code blocksize} codes
     * @param offset added to every scale
     * @param blocksize codes per nested block
     * @return FLOAT32, one per 4-bit block, in {@code codes}' manager
     */
    public static NDArray nestedAbsmax(NDArray codes, NDArray table, NDArray absmax, float offset,
            int blocksize) {
        NDManager parent = codes.getManager();
        try (NDManager sub = parent.newSubManager()) {
            codes.tempAttach(sub);
            table.tempAttach(sub);
            absmax.tempAttach(sub);
            NDArray values = table.take(codes.toType(DataType.INT64, false));
            NDArray scaled = scaleBlocks(values, absmax, blocksize);
            NDArray out = Scalars.add(scaled, offset);
            out.attach(parent);
            return out;
        }
    }

    /**
     * Dequantizes device-resident data; the operation a 4-bit layer runs per forward pass.
     *
     * @param packed the packed codes, UINT8 (any shape, e.g. bitsandbytes' {@code [n/2, 1]})
     * @param absmax the float32 block scales, {@link QuantState#blockCount()} values
     * @param state the state describing the tensor
     * @param outType FLOAT32, FLOAT16 or FLOAT64
     * @return an array of the original shape, attached to {@code packed}'s manager
     */
    public static NDArray dequantize(
            NDArray packed, NDArray absmax, QuantState state, DataType outType) {
        checkOutType(outType);
        if (packed.size() != state.packedSize()) {
            throw new IllegalArgumentException(
                    "packed array holds " + packed.size() + " bytes, the state needs "
                            + state.packedSize());
        }
        if (absmax.size() != state.blockCount()) {
            throw new IllegalArgumentException(
                    "absmax array holds " + absmax.size() + " values, the state needs "
                            + state.blockCount());
        }
        NDManager parent = packed.getManager();
        try (NDManager sub = parent.newSubManager()) {
            packed.tempAttach(sub);
            absmax.tempAttach(sub);
            NDArray flatPacked = packed.reshape(-1);
            NDArray flatScales = absmax.reshape(-1).toType(DataType.FLOAT32, false);
            NDArray pairs = sub.create(pairTable(state.quantType()), new Shape(256, 2))
                    .toDevice(packed.getDevice(), false);
            long n = state.numel();
            long blocks = state.blockCount();
            int bs = state.blocksize();
            long chunkBlocks = Math.max(Math.max(1, CHUNK_ELEMENTS / bs), (blocks + MAX_CHUNKS - 1) / MAX_CHUNKS);
            NDArray out;
            if (blocks <= chunkBlocks) {
                out = dequantizeBlocks(flatPacked, flatScales, pairs, 0, blocks, n, bs);
            } else {
                out = sub.zeros(new Shape(n), DataType.FLOAT32, packed.getDevice());
                for (long k0 = 0; k0 < blocks; k0 += chunkBlocks) {
                    long k1 = Math.min(blocks, k0 + chunkBlocks);
                    try (NDManager chunk = sub.newSubManager()) {
                        flatPacked.tempAttach(chunk);
                        flatScales.tempAttach(chunk);
                        pairs.tempAttach(chunk);
                        NDArray part = dequantizeBlocks(flatPacked, flatScales, pairs, k0, k1, n, bs);
                        out.set(new NDIndex("{}:{}", k0 * bs, Math.min(n, k1 * bs)), part);
                    }
                }
            }
            out = out.reshape(new Shape(state.shape()));
            if (outType != DataType.FLOAT32) {
                out = out.toType(outType, false);
            }
            out.attach(parent);
            return out;
        }
    }

    /**
     * Elements {@code [k0·bs, min(n, k1·bs))} of the dequantized tensor, from blocks {@code
     * k0..k1-1}: one gather per packed byte, then the block scales; in {@code flatPacked}'s
     * manager.
     */
    private static NDArray dequantizeBlocks(NDArray flatPacked, NDArray flatScales, NDArray pairs,
            long k0, long k1, long n, int bs) {
        long e0 = k0 * bs;
        long e1 = Math.min(n, k1 * bs);
        // e0 is even (block sizes are even): the chunk starts at a whole byte
        NDArray bytes = k0 == 0 && e1 == n ? flatPacked : flatPacked.get(new NDIndex("{}:{}", e0 / 2, (e1 + 1) / 2));
        NDArray index = bytes.toType(DataType.INT64, false);
        NDArray values = pairs.get(index).reshape(-1);
        index.close();
        NDArray scales = k0 == 0 && k1 * bs >= n && flatScales.size() == k1
                ? flatScales : flatScales.get(new NDIndex("{}:{}", k0, k1));
        NDArray scaled = scaleBlocks(values, scales, bs);
        return scaled.size() == e1 - e0 ? scaled : scaled.get(new NDIndex("0:{}", e1 - e0));
    }

    /**
     * {@code values[i] * scales[i / blocksize]}, by zero-padding the values to whole blocks and
     * broadcasting the scales over each block; {@code values} holds at most {@code blocksize *
     * scales.size()} elements and the result as many as {@code values}.
     */
    private static NDArray scaleBlocks(NDArray values, NDArray scales, int blocksize) {
        long blocks = scales.size();
        long padded = blocks * blocksize;
        long have = values.size();
        NDArray full = values;
        if (have < padded) {
            NDManager m = values.getManager();
            full = values.concat(m.zeros(new Shape(padded - have), DataType.FLOAT32,
                    values.getDevice()));
        }
        NDArray product = full.reshape(blocks, blocksize).mul(scales.reshape(blocks, 1));
        NDArray flat = product.reshape(-1);
        return have < padded ? flat.get(new NDIndex("0:{}", have)) : flat;
    }

    /**
     * The two code values every byte stands for, {@code [256, 2]} row-major: row {@code b} holds
     * {@code code[b / 16]} (the high nibble, the first element) and {@code code[b % 16]}.
     */
    private static float[] pairTable(QuantType type) {
        float[] table = new float[512];
        for (int b = 0; b < 256; b++) {
            table[2 * b] = type.value(b >>> 4);
            table[2 * b + 1] = type.value(b & 15);
        }
        return table;
    }

    private static void checkOutType(DataType outType) {
        if (!OUTPUT_TYPES.contains(outType)) {
            throw new IllegalArgumentException(
                    "output type must be FLOAT32, FLOAT16 or FLOAT64, got " + outType.name());
        }
    }
}
