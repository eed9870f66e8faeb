package dev.peft4j.minilm;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the parts of an ONNX {@code ModelProto} that weight loading needs: model metadata, the
 * graph's input and output names, its initializers ({@link OnnxTensorParser}) and its {@code
 * MatMul} and {@code Gemm} nodes (which tell how to name and orient anonymous weights). Everything
 * else (other nodes, attributes' tensors, functions, ...) is skipped unread.
 *
 * <p>Field numbers follow {@code onnx.proto3}: ModelProto 1 ir_version, 2 producer_name, 3
 * producer_version, 7 graph, 8 opset_import, 14 metadata_props; GraphProto 1 node, 2 name, 5
 * initializer, 11 input, 12 output, 15 sparse_initializer; NodeProto 1 input, 2 output, 3 name, 4
 * op_type, 5 attribute; AttributeProto 1 name, 3 i.
 */
final class OnnxModelParser {

    /**
     * A {@code MatMul} or {@code Gemm} node.
     *
     * @param opType {@code "MatMul"} or {@code "Gemm"}
     * @param name the node's name (may be empty)
     * @param inputs its first inputs (at most three)
     * @param transB the {@code Gemm} attribute {@code transB} (0 when absent)
     */
    record WeightNode(String opType, String name, List<String> inputs, long transB) {}

    /**
     * The parsed model.
     *
     * @param metadata model-level metadata
     * @param graphInputs names of the graph inputs that are not initializers
     * @param graphOutputs names of the graph outputs
     * @param initializers the initializers, in storage order
     * @param weightNodes the {@code MatMul} and {@code Gemm} nodes, in graph order
     */
    record ParsedModel(
            Map<String, String> metadata,
            List<String> graphInputs,
            List<String> graphOutputs,
            List<OnnxTensorParser.RawTensor> initializers,
            List<WeightNode> weightNodes) {}

    private OnnxModelParser() {}

    /**
     * Parses a model.
     *
     * @param buf the model bytes, from position 0 to the limit (only read)
     * @param source the model's name, for messages
     * @return the parsed model
     * @throws OnnxFormatException when the bytes are malformed or unsupported
     */
    static ParsedModel parse(ByteBuffer buf, String source) throws OnnxFormatException {
        try {
            return parseModel(new ProtoReader(buf, 0, buf.limit(), source, "model"));
        } catch (RuntimeException e) {
            // Safety net: the reader is bounds-checked, so this indicates a bug, but malformed
            // input must never surface as an unchecked exception.
            throw new OnnxFormatException(source, "unexpected parse failure: " + e, e);
        }
    }

    private static ParsedModel parseModel(ProtoReader r) throws OnnxFormatException {
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, String> props = new LinkedHashMap<>();
        ProtoReader graph = null;
        while (r.hasRemaining()) {
            int tag = r.readTag();
            switch (ProtoReader.fieldNumber(tag)) {
                case 1:
                    r.expectWireType(tag, ProtoReader.VARINT, "ir_version");
                    metadata.put("onnx.ir_version", Long.toString(r.readVarint()));
                    break;
                case 2:
                    r.expectWireType(tag, ProtoReader.LEN, "producer_name");
                    metadata.put("onnx.producer_name", r.readString("producer_name"));
                    break;
                case 3:
                    r.expectWireType(tag, ProtoReader.LEN, "producer_version");
                    metadata.put("onnx.producer_version", r.readString("producer_version"));
                    break;
                case 7:
                    r.expectWireType(tag, ProtoReader.LEN, "graph");
                    if (graph != null) {
                        throw r.error("more than one graph");
                    }
                    graph = r.readMessage("graph");
                    break;
                case 8:
                    r.expectWireType(tag, ProtoReader.LEN, "opset_import");
                    parseOpset(r.readMessage("model.opset_import"), metadata);
                    break;
                case 14:
                    r.expectWireType(tag, ProtoReader.LEN, "metadata_props");
                    parseProp(r.readMessage("model.metadata_props"), props);
                    break;
                default:
                    r.skip(ProtoReader.wireType(tag));
            }
        }
        if (graph == null) {
            throw r.error("no graph (ModelProto field 7)");
        }
        return parseGraph(graph, metadata, props);
    }

    private static ParsedModel parseGraph(
            ProtoReader g, Map<String, String> metadata, Map<String, String> props)
            throws OnnxFormatException {
        List<OnnxTensorParser.RawTensor> initializers = new ArrayList<>();
        List<WeightNode> nodes = new ArrayList<>();
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        int nodeIndex = 0;
        while (g.hasRemaining()) {
            int tag = g.readTag();
            switch (ProtoReader.fieldNumber(tag)) {
                case 1:
                    g.expectWireType(tag, ProtoReader.LEN, "node");
                    WeightNode node = parseNode(g.readMessage("graph.node[" + nodeIndex + "]"));
                    nodeIndex++;
                    if (node != null) {
                        nodes.add(node);
                    }
                    break;
                case 2:
                    g.expectWireType(tag, ProtoReader.LEN, "name");
                    metadata.put("onnx.graph_name", g.readString("graph name"));
                    break;
                case 5:
                    g.expectWireType(tag, ProtoReader.LEN, "initializer");
                    String ctx = "graph.initializer[" + initializers.size() + "]";
                    initializers.add(OnnxTensorParser.parse(g.readMessage(ctx)));
                    break;
                case 11:
                    g.expectWireType(tag, ProtoReader.LEN, "input");
                    inputs.add(parseValueInfoName(g.readMessage("graph.input")));
                    break;
                case 12:
                    g.expectWireType(tag, ProtoReader.LEN, "output");
                    outputs.add(parseValueInfoName(g.readMessage("graph.output")));
                    break;
                case 15:
                    throw g.error("sparse initializers are not supported");
                default:
                    g.skip(ProtoReader.wireType(tag));
            }
        }
        // Old exporters (IR < 4) also list every initializer as a graph input.
        Set<String> initNames = new HashSet<>();
        for (OnnxTensorParser.RawTensor t : initializers) {
            initNames.add(t.name());
        }
        inputs.removeIf(initNames::contains);
        metadata.putAll(props);
        return new ParsedModel(
                Collections.unmodifiableMap(metadata),
                List.copyOf(inputs),
                List.copyOf(outputs),
                List.copyOf(initializers),
                List.copyOf(nodes));
    }

    /** Returns the node when it is a MatMul or Gemm, else {@code null}. */
    private static WeightNode parseNode(ProtoReader n) throws OnnxFormatException {
        List<String> inputs = new ArrayList<>(3);
        String name = "";
        String opType = "";
        long transB = 0;
        while (n.hasRemaining()) {
            int tag = n.readTag();
            switch (ProtoReader.fieldNumber(tag)) {
                case 1:
                    n.expectWireType(tag, ProtoReader.LEN, "input");
                    String in = n.readString("node input");
                    if (inputs.size() < 3) {
                        inputs.add(in);
                    }
                    break;
                case 3:
                    n.expectWireType(tag, ProtoReader.LEN, "name");
                    name = n.readString("node name");
                    break;
                case 4:
                    n.expectWireType(tag, ProtoReader.LEN, "op_type");
                    opType = n.readString("op_type");
                    break;
                case 5:
                    n.expectWireType(tag, ProtoReader.LEN, "attribute");
                    Long tb = parseTransB(n.readMessage(n.context() + ".attribute"));
                    if (tb != null) {
                        transB = tb;
                    }
                    break;
                default:
                    n.skip(ProtoReader.wireType(tag));
            }
        }
        if (!"MatMul".equals(opType) && !"Gemm".equals(opType)) {
            return null;
        }
        return new WeightNode(opType, name, List.copyOf(inputs), transB);
    }

    /** Returns the attribute's integer value when it is named transB, else {@code null}. */
    private static Long parseTransB(ProtoReader a) throws OnnxFormatException {
        String name = null;
        long i = 0;
        while (a.hasRemaining()) {
            int tag = a.readTag();
            int field = ProtoReader.fieldNumber(tag);
            if (field == 1 && ProtoReader.wireType(tag) == ProtoReader.LEN) {
                name = a.readString("attribute name");
            } else if (field == 3 && ProtoReader.wireType(tag) == ProtoReader.VARINT) {
                i = a.readVarint();
            } else {
                a.skip(ProtoReader.wireType(tag));
            }
        }
        return "transB".equals(name) ? i : null;
    }

    private static String parseValueInfoName(ProtoReader v) throws OnnxFormatException {
        String name = "";
        while (v.hasRemaining()) {
            int tag = v.readTag();
            if (ProtoReader.fieldNumber(tag) == 1 && ProtoReader.wireType(tag) == ProtoReader.LEN) {
                name = v.readString("value name");
            } else {
                v.skip(ProtoReader.wireType(tag));
            }
        }
        return name;
    }

    private static void parseOpset(ProtoReader o, Map<String, String> metadata)
            throws OnnxFormatException {
        String domain = "";
        long version = 0;
        while (o.hasRemaining()) {
            int tag = o.readTag();
            int field = ProtoReader.fieldNumber(tag);
            if (field == 1 && ProtoReader.wireType(tag) == ProtoReader.LEN) {
                domain = o.readString("opset domain");
            } else if (field == 2 && ProtoReader.wireType(tag) == ProtoReader.VARINT) {
                version = o.readVarint();
            } else {
                o.skip(ProtoReader.wireType(tag));
            }
        }
        String key =
                domain.isEmpty() || "ai.onnx".equals(domain)
                        ? "onnx.opset"
                        : "onnx.opset." + domain;
        metadata.put(key, Long.toString(version));
    }

    private static void parseProp(ProtoReader p, Map<String, String> props)
            throws OnnxFormatException {
        String key = "";
        String value = "";
        while (p.hasRemaining()) {
            int tag = p.readTag();
            int field = ProtoReader.fieldNumber(tag);
            if (field == 1 && ProtoReader.wireType(tag) == ProtoReader.LEN) {
                key = p.readString("metadata key");
            } else if (field == 2 && ProtoReader.wireType(tag) == ProtoReader.LEN) {
                value = p.readString("metadata value");
            } else {
                p.skip(ProtoReader.wireType(tag));
            }
        }
        props.put(key, value);
    }
}
