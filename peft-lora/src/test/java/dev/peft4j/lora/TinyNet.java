package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.nn.ModuleList;
import dev.peft4j.core.nn.Params;

import java.util.List;
import java.util.Map;

/** layer.{0,1}.attention.{query,value} (d→d, bias) and classifier (d→2): h += q(h) + v(h); out = classifier(h). */
final class TinyNet extends Module {

    final int d;

    TinyNet(int d) {
        this.d = d;
        registerModule("layer", new ModuleList<>(List.of(layer(d), layer(d))));
        registerModule("classifier", new Linear(d, 2, true));
    }

    private static ModuleDict layer(int d) {
        ModuleDict attention = new ModuleDict();
        attention.put("query", new Linear(d, d, true));
        attention.put("value", new Linear(d, d, true));
        ModuleDict l = new ModuleDict();
        l.put("attention", attention);
        return l;
    }

    /** A net with fixed pseudo-random weights (java.util.Random(seed)). */
    static TinyNet create(int d, NDManager m, long seed) {
        TinyNet net = new TinyNet(d);
        java.util.Random r = new java.util.Random(seed);
        for (Map.Entry<String, Parameter> e : net.namedParameters().entrySet()) {
            Shape s = net.getModule(e.getKey().substring(0, e.getKey().lastIndexOf('.')))
                    .expectedShape(e.getKey().substring(e.getKey().lastIndexOf('.') + 1));
            float[] v = new float[(int) s.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextGaussian() * 0.5);
            }
            Params.assign(e.getValue(), m.create(v, s));
        }
        return net;
    }

    static NDArray input(NDManager m, int rows, int d, long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] v = new float[rows * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return m.create(v, new Shape(rows, d)).toType(DataType.FLOAT32, false);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
        NDArray h = in.singletonOrThrow();
        for (Module l : ((ModuleList<?>) child("layer")).items()) {
            Module att = l.child("attention");
            NDArray q = ((LinearLike) att.child("query")).forward(ps, h, training);
            NDArray v = ((LinearLike) att.child("value")).forward(ps, h, training);
            h = h.add(q).add(v);
        }
        return new NDList(((LinearLike) child("classifier")).forward(ps, h, training));
    }

    static NDArray run(Module model, NDArray x, boolean training) {
        return model.forward(new ParameterStore(x.getManager(), false), new NDList(x), training).singletonOrThrow();
    }
}
