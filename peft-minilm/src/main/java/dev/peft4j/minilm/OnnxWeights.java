package dev.peft4j.minilm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The initializers of an ONNX model as a {@link TensorSource}, under Hugging Face names and shapes.
 *
 * <p>Weights that the PyTorch exporter stored transposed under anonymous names are renamed after
 * their consuming node and transposed back: initializer {@code onnx::MatMul_896} {@code [384,
 * 1536]}, input B of node {@code /encoder/layer.0/intermediate/dense/MatMul}, becomes {@code
 * encoder.layer.0.intermediate.dense.weight} {@code [1536, 384]}. Initializers that already have
 * names keep them; anonymous initializers that no MatMul or Gemm node names are left out (and
 * logged at INFO). The ONNX names never appear in {@link #names()}; {@link #onnxName(String)}
 * gives them for diagnostics. See {@code WeightNaming} for the exact rules.
 *
 * <p>Supported ONNX element types: FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32, INT16, INT8,
 * UINT8, BOOL, as {@code raw_data} or as the typed fields {@code float_data}, {@code int32_data},
 * {@code int64_data}, {@code double_data}. Other types, external data, segments and sparse
 * initializers are refused with an {@link OnnxFormatException}.
 *
 * <p>Memory: opened from a file, the model is memory-mapped (no heap). Read from a stream or a byte
 * array, the model bytes are held once on the heap (91 MB for all-MiniLM-L6-v2) until {@link
 * #close()}; {@link #read(InputStream, long, String)} with a known size allocates exactly that
 * array, {@link #read(InputStream, String)} may transiently need about twice the size. Parsing
 * keeps only offsets (tensors stored as {@code raw_data} are never copied). Each {@link #load}
 * copies one tensor into native memory; a transposed tensor, BF16 and INT16 additionally take one
 * transient heap copy of that tensor. So the heap peaks at the model bytes plus the largest single
 * tensor, while native memory holds the tensors loaded.
 *
 * <p>Instances are safe for concurrent reads. {@link #names()}, {@link #info} and {@link
 * #metadata()} remain usable after {@link #close()}; reading tensor data does not.
 */
public final class OnnxWeights implements TensorSource {

    private static final Logger logger = LoggerFactory.getLogger(OnnxWeights.class);
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    private record Entry(TensorInfo info, OnnxTensorParser.RawTensor tensor, boolean transposed) {}

    private final String sourceName;
    private final Path location;
    private final Map<String, Entry> entries;
    private final List<String> names;
    private final Map<String, String> metadata;
    private final List<String> graphInputs;
    private final List<String> graphOutputs;
    private volatile ByteBuffer buf;

    private OnnxWeights(ByteBuffer buf, String sourceName, Path location)
            throws OnnxFormatException {
        this.sourceName = sourceName;
        this.location = location;
        OnnxModelParser.ParsedModel model = OnnxModelParser.parse(buf, sourceName);
        WeightNaming.Result naming = WeightNaming.apply(model, sourceName);
        Map<String, Entry> map = new LinkedHashMap<>();
        int transposedCount = 0;
        for (WeightNaming.Named n : naming.tensors()) {
            OnnxTensorParser.RawTensor t = n.tensor();
            long[] shape = t.dims();
            if (n.transposed()) {
                shape = new long[] {shape[1], shape[0]};
                transposedCount++;
            }
            TensorInfo info =
                    new TensorInfo(
                            n.name(), t.dtype(), shape, t.offset(), (long) t.offset() + t.length());
            map.put(n.name(), new Entry(info, t, n.transposed()));
        }
        if (!naming.dropped().isEmpty()) {
            // Usually exporter constants; a real weight left out here makes the model loader fail
            // on the missing tensor name.
            logger.info(
                    "{}: left out {} anonymous initializers that no MatMul/Gemm node names: {}",
                    sourceName,
                    naming.dropped().size(),
                    naming.dropped().size() > 10
                            ? naming.dropped().subList(0, 10) + "..."
                            : naming.dropped());
        }
        this.entries = Collections.unmodifiableMap(map);
        this.names = List.copyOf(map.keySet());
        this.metadata = model.metadata();
        this.graphInputs = model.graphInputs();
        this.graphOutputs = model.graphOutputs();
        this.buf = buf;
        logger.debug(
                "{}: {} tensors ({} transposed back to [out, in])",
                sourceName,
                names.size(),
                transposedCount);
    }

    /**
     * Opens an ONNX file, memory-mapped.
     *
     * @param file the {@code .onnx} file
     * @return the weights
     * @throws OnnxFormatException when the model is malformed, unsupported, or over 2 GiB
     * @throws IOException when the file cannot be read
     */
    public static OnnxWeights open(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        String name = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new OnnxFormatException(
                        name,
                        "file has "
                                + size
                                + " bytes; models over 2 GiB (external data) are not supported");
            }
            ByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            return new OnnxWeights(mapped, name, file);
        }
    }

    /**
     * Reads a model of known size from a stream (e.g. a jar entry) into one exactly sized array.
     * The stream is not closed.
     *
     * @param in the stream
     * @param size the model's size in bytes, e.g. the jar entry's size
     * @param sourceName a name for messages and {@link #location()}
     * @return the weights
     * @throws OnnxFormatException when the stream holds more or fewer bytes than {@code size}, or
     *     the model is malformed or unsupported
     * @throws IOException when the stream cannot be read
     */
    public static OnnxWeights read(InputStream in, long size, String sourceName)
            throws IOException {
        if (size < 0 || size > MAX_ARRAY) {
            throw new OnnxFormatException(
                    sourceName, "unsupported model size " + size + " (0 to 2 GiB)");
        }
        byte[] bytes = new byte[(int) size];
        int n = in.readNBytes(bytes, 0, bytes.length);
        if (n < size) {
            throw new OnnxFormatException(
                    sourceName, "stream ended after " + n + " of " + size + " bytes");
        }
        if (in.read() != -1) {
            throw new OnnxFormatException(sourceName, "stream holds more than " + size + " bytes");
        }
        return fromBytes(bytes, sourceName);
    }

    /**
     * Reads a model of unknown size from a stream; needs up to about twice the model's size of
     * heap while reading. The stream is not closed.
     *
     * @param in the stream
     * @param sourceName a name for messages and {@link #location()}
     * @return the weights
     * @throws OnnxFormatException when the model is malformed or unsupported
     * @throws IOException when the stream cannot be read
     */
    public static OnnxWeights read(InputStream in, String sourceName) throws IOException {
        Objects.requireNonNull(in, "in");
        return fromBytes(in.readAllBytes(), sourceName);
    }

    /**
     * Wraps model bytes without copying; the caller must not modify the array afterwards.
     *
     * @param model the model bytes
     * @param sourceName a name for messages and {@link #location()}
     * @return the weights
     * @throws OnnxFormatException when the model is malformed or unsupported
     */
    public static OnnxWeights fromBytes(byte[] model, String sourceName)
            throws OnnxFormatException {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(sourceName, "sourceName");
        return new OnnxWeights(ByteBuffer.wrap(model), sourceName, pathFor(sourceName));
    }

    private static Path pathFor(String sourceName) {
        try {
            return Path.of(sourceName);
        } catch (InvalidPathException e) {
            return Path.of(sourceName.replaceAll("[^A-Za-z0-9._-]", "_"));
        }
    }

    /** {@inheritDoc} For a stream or byte array, the path made of the source name. */
    @Override
    public Path location() {
        return location;
    }

    /** {@inheritDoc} */
    @Override
    public List<String> names() {
        return names;
    }

    /** {@inheritDoc} */
    @Override
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /**
     * {@inheritDoc}
     *
     * <p>The shape is the Hugging Face one (transposed tensors have {@code [out, in]}); {@code
     * begin} and {@code end} are the stored data's absolute byte range in the model (for tensors
     * stored in typed fields rather than {@code raw_data}, {@code begin} is the first such field
     * and {@code end - begin} the decoded size).
     */
    @Override
    public TensorInfo info(String name) {
        return entry(name).info();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Holds {@code onnx.ir_version}, {@code onnx.producer_name}, {@code onnx.producer_version},
     * {@code onnx.opset} (default domain; {@code onnx.opset.<domain>} for others), {@code
     * onnx.graph_name} when present, and the model's {@code metadata_props} verbatim.
     */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The original ONNX initializer name of a tensor.
     *
     * @param name a tensor name from {@link #names()}
     * @return e.g. {@code onnx::MatMul_885} for {@code encoder.layer.0.attention.self.query.weight}
     * @throws IllegalArgumentException when the tensor is absent
     */
    public String onnxName(String name) {
        return entry(name).tensor().name();
    }

    /**
     * @param name a tensor name from {@link #names()}
     * @return whether the stored matrix is transposed on reading
     * @throws IllegalArgumentException when the tensor is absent
     */
    public boolean isTransposed(String name) {
        return entry(name).transposed();
    }

    /** @return the graph's input names that are not initializers, e.g. {@code input_ids} */
    public List<String> graphInputs() {
        return graphInputs;
    }

    /** @return the graph's output names */
    public List<String> graphOutputs() {
        return graphOutputs;
    }

    /**
     * {@inheritDoc}
     *
     * <p>The bytes follow {@link #info}: a transposed tensor comes back as a fresh {@code [out,
     * in]} buffer, others as read-only views of the model bytes (or of their decoded typed data).
     */
    @Override
    public ByteBuffer rawBytes(String name) throws IOException {
        Entry e = entry(name);
        OnnxTensorParser.RawTensor t = e.tensor();
        ByteBuffer model = openBuffer();
        ByteBuffer data =
                t.decoded() != null
                        ? ByteBuffer.wrap(t.decoded())
                        : model.slice(t.offset(), t.length());
        if (e.transposed()) {
            long[] dims = t.dims();
            data = TensorBytes.transpose(data, (int) dims[0], (int) dims[1], t.dtype().byteSize());
        }
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** {@inheritDoc} */
    @Override
    public NDArray load(String name, NDManager manager, DataType bf16Target) throws IOException {
        if (bf16Target != null
                && bf16Target != DataType.FLOAT32
                && bf16Target != DataType.FLOAT16) {
            throw new IllegalArgumentException(
                    "bf16Target must be FLOAT32, FLOAT16 or null, not " + bf16Target);
        }
        TensorInfo info = entry(name).info();
        Shape shape = info.djlShape();
        int n = elementCount(info);
        ByteBuffer data = rawBytes(name);
        if (n == 0) {
            boolean half = info.dtype() == DType.BF16 && bf16Target == DataType.FLOAT16;
            return manager.create(shape, half ? DataType.FLOAT16 : info.dtype().djlType());
        }
        switch (info.dtype()) {
            case BF16:
                NDArray f32 = manager.create(TensorBytes.toFloats(data, DType.BF16, n), shape);
                if (bf16Target != DataType.FLOAT16) {
                    return f32;
                }
                try (f32) {
                    return f32.toType(DataType.FLOAT16, false);
                }
            case I16:
                return manager.create(TensorBytes.widenInt16(data, n), shape);
            default:
                if (data.isDirect()) {
                    // A view of the memory-mapped file: DJL would wrap it without copying, and the
                    // array must own writable memory, so copy it into a buffer of its own.
                    ByteBuffer copy = manager.allocateDirect(data.remaining());
                    copy.put(data);
                    copy.rewind();
                    data = copy;
                }
                return manager.create(data, shape, info.dtype().djlType());
        }
    }

    /** {@inheritDoc} */
    @Override
    public float[] loadFloats(String name) throws IOException {
        TensorInfo info = entry(name).info();
        if (!info.dtype().isFloating()) {
            throw new IllegalArgumentException(
                    "tensor '"
                            + name
                            + "' in "
                            + sourceName
                            + " has dtype "
                            + info.dtype()
                            + ", not a floating type");
        }
        return TensorBytes.toFloats(rawBytes(name), info.dtype(), elementCount(info));
    }

    /** Releases the model bytes (a mapping is released when garbage-collected). */
    @Override
    public void close() {
        buf = null;
    }

    private int elementCount(TensorInfo info) {
        long n = info.numel();
        if (n > MAX_ARRAY) {
            throw new IllegalArgumentException(
                    "tensor '" + info.name() + "' has " + n + " elements, too many for an array");
        }
        return (int) n;
    }

    private ByteBuffer openBuffer() {
        ByteBuffer b = buf;
        if (b == null) {
            throw new IllegalStateException("ONNX weights of " + sourceName + " are closed");
        }
        return b;
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException(
                    "no tensor '"
                            + name
                            + "' in "
                            + sourceName
                            + " ("
                            + names.size()
                            + " tensors)");
        }
        return e;
    }

    @Override
    public String toString() {
        return "OnnxWeights[" + sourceName + ", " + names.size() + " tensors]";
    }
}
