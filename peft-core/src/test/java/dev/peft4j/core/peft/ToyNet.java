package dev.peft4j.core.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
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
import java.util.Random;

/** layer.{0,1}.{query,value} (d→d, bias) and classifier (d→2): h += q(h) + v(h); out = classifier(h). */
final class ToyNet extends Module {

    ToyNet(int d) {
        registerModule("layer", new ModuleList<>(List.of(layer(d), layer(d))));
        registerModule("classifier", new Linear(d, 2, true));
    }

    private static ModuleDict layer(int d) {
        ModuleDict l = new ModuleDict();
        l.put("query", new Linear(d, d, true));
        l.put("value", new Linear(d, d, true));
        return l;
    }

    /** A net with fixed pseudo-random weights. */
    static ToyNet create(int d, NDManager m, long seed) {
        ToyNet net = new ToyNet(d);
        Random r = new Random(seed);
        for (Map.Entry<String, Parameter> e : net.namedParameters().entrySet()) {
            String k = e.getKey();
            Shape s = net.getModule(k.substring(0, k.lastIndexOf('.'))).expectedShape(k.substring(k.lastIndexOf('.') + 1));
            float[] v = new float[(int) s.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextGaussian() * 0.5);
            }
            Params.assign(e.getValue(), m.create(v, s));
        }
        return net;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
        NDArray h = in.singletonOrThrow();
        for (int i = 0; i < 2; i++) {
            NDArray q = ((LinearLike) getModule("layer." + i + ".query")).forward(ps, h, training);
            NDArray v = ((LinearLike) getModule("layer." + i + ".value")).forward(ps, h, training);
            h = h.add(q).add(v);
        }
        return new NDList(((LinearLike) getModule("classifier")).forward(ps, h, training));
    }
}
