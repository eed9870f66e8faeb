package dev.peft4j.minilm;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** A tiny protobuf encoder for building (malformed) ONNX models in tests. */
final class ProtoWriter {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static ProtoWriter create() {
        return new ProtoWriter();
    }

    ProtoWriter rawVarint(long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return this;
    }

    ProtoWriter tag(int field, int wireType) {
        return rawVarint(((long) field << 3) | wireType);
    }

    ProtoWriter varint(int field, long v) {
        return tag(field, 0).rawVarint(v);
    }

    ProtoWriter bytes(int field, byte[] b) {
        tag(field, 2).rawVarint(b.length);
        out.writeBytes(b);
        return this;
    }

    ProtoWriter string(int field, String s) {
        return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    ProtoWriter message(int field, ProtoWriter m) {
        return bytes(field, m.toByteArray());
    }

    ProtoWriter fixed32(int field, int v) {
        tag(field, 5);
        return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    ProtoWriter fixed64(int field, long v) {
        tag(field, 1);
        return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    /** A packed repeated varint field. */
    ProtoWriter packedVarints(int field, long... values) {
        ProtoWriter p = new ProtoWriter();
        for (long v : values) {
            p.rawVarint(v);
        }
        return bytes(field, p.toByteArray());
    }

    ProtoWriter raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    // ---- ONNX helpers ----

    static byte[] floatsLe(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    /** TensorProto with packed dims, data_type and name (data to be added by the caller). */
    static ProtoWriter tensor(String name, int dataType, long... dims) {
        return create().packedVarints(1, dims).varint(2, dataType).string(8, name);
    }

    static ProtoWriter node(String name, String opType, String... inputs) {
        ProtoWriter n = create();
        for (String in : inputs) {
            n.string(1, in);
        }
        return n.string(2, name + "_output_0").string(3, name).string(4, opType);
    }

    static ProtoWriter intAttribute(String name, long value) {
        return create().string(1, name).varint(3, value).varint(20, 2);
    }

    static ProtoWriter valueInfo(String name) {
        return create().string(1, name);
    }

    /** ModelProto: ir_version 7, producer "test", opset 14, the given graph. */
    static byte[] model(ProtoWriter graph) {
        return create().varint(1, 7)
                .string(2, "test")
                .string(3, "0.1")
                .message(7, graph)
                .message(8, create().varint(2, 14))
                .toByteArray();
    }

    /** A model whose graph holds just the given initializer. */
    static byte[] modelWithInitializer(ProtoWriter tensor) {
        return model(create().message(5, tensor));
    }
}
