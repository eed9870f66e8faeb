package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.ejml.data.DMatrixRMaj;

import java.util.ArrayList;
import java.util.List;

/** The per-layer arithmetic of {@link LoraAdapters#addWeightedAdapter}, see {@link Combination}. */
final class WeightedAdapters {

    private WeightedAdapters() {}

    static void combine(LoraLinear layer, List<String> adapters, List<Double> weights, Combination type,
                        String target, NDManager manager) {
        int rank = layer.settings(target).r();
        long in = layer.inFeatures();
        long out = layer.outFeatures();
        List<String> names = new ArrayList<>();
        List<Double> w = new ArrayList<>();
        for (int i = 0; i < adapters.size(); i++) {
            if (layer.adapterNames().contains(adapters.get(i))) {
                names.add(adapters.get(i));
                w.add(weights.get(i));
            }
        }
        if (names.isEmpty()) {
            throw new IllegalStateException(layer.path() + " has none of the adapters " + adapters);
        }
        try (NDManager tmp = manager.newSubManager()) {
            NDArray a;
            NDArray b;
            if (type == Combination.SVD) {
                List<NDArray> bs = new ArrayList<>();
                List<NDArray> as = new ArrayList<>();
                for (int i = 0; i < names.size(); i++) {
                    double s = layer.settings(names.get(i)).scaling();
                    bs.add(value(layer.loraB(names.get(i)), tmp).mul(w.get(i) * s * s));
                    as.add(value(layer.loraA(names.get(i)), tmp));
                }
                DMatrixRMaj bm = LinAlg.toMatrix(NDArrays.concat(bs, 1));
                DMatrixRMaj am = LinAlg.toMatrix(NDArrays.concat(as, 0));
                LinAlg.Svd svd = LinAlg.svdOfProduct(bm, am);
                float[] af = new float[(int) (rank * in)];
                float[] bf = new float[(int) (out * rank)];
                for (int k = 0; k < Math.min(rank, svd.s().length); k++) {
                    for (int j = 0; j < in; j++) {
                        af[(int) (k * in + j)] = (float) svd.v().get(j, k);
                    }
                    for (int i = 0; i < out; i++) {
                        bf[(int) (i * rank + k)] = (float) (svd.u().get(i, k) * svd.s()[k]);
                    }
                }
                a = manager.create(af, new Shape(rank, in));
                b = manager.create(bf, new Shape(out, rank));
            } else if (type == Combination.CAT) {
                List<NDArray> as = new ArrayList<>();
                List<NDArray> bs = new ArrayList<>();
                long total = 0;
                for (int i = 0; i < names.size(); i++) {
                    double s = layer.settings(names.get(i)).scaling();
                    as.add(value(layer.loraA(names.get(i)), tmp).mul(w.get(i) * s));
                    bs.add(value(layer.loraB(names.get(i)), tmp));
                    total += layer.settings(names.get(i)).r();
                }
                if (total < rank) {
                    as.add(tmp.zeros(new Shape(rank - total, in)));
                    bs.add(tmp.zeros(new Shape(out, rank - total)));
                }
                a = NDArrays.concat(as, 0);
                b = NDArrays.concat(bs, 1);
            } else {
                a = tmp.zeros(new Shape(rank, in));
                b = tmp.zeros(new Shape(out, rank));
                for (int i = 0; i < names.size(); i++) {
                    double ws = w.get(i) * layer.settings(names.get(i)).scaling();
                    double root = Math.sqrt(Math.abs(ws));
                    a = a.add(value(layer.loraA(names.get(i)), tmp).mul(ws >= 0 ? root : -root));
                    b = b.add(value(layer.loraB(names.get(i)), tmp).mul(root));
                }
            }
            a.attach(manager);
            b.attach(manager);
            layer.assign(target, a, b);
        }
    }

    private static NDArray value(dev.peft4j.core.nn.Linear l, NDManager tmp) {
        NDArray v = l.parameter("weight").getArray().stopGradient();
        v.attach(tmp);
        return v;
    }

    /** Concatenation helper (DJL's NDArrays.concat takes an NDList). */
    private static final class NDArrays {
        static NDArray concat(List<NDArray> arrays, int axis) {
            return arrays.size() == 1 ? arrays.get(0) : ai.djl.ndarray.NDArrays.concat(new NDList(arrays), axis);
        }
    }
}
