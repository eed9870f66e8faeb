package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.nn.ModuleList;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Python PEFT's file for MiniLM (r=2, alpha 4, query/value) onto a tree with MiniLM's attention paths. */
class PeftFixtureFormatTest {

    /** encoder.layer.{0..5}.attention.self.{query,key,value}: 384→384. */
    static final class Skeleton extends Module {
        Skeleton() {
            List<ModuleDict> layers = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                ModuleDict self = new ModuleDict();
                for (String n : List.of("query", "key", "value")) {
                    self.put(n, new Linear(384, 384, true));
                }
                ModuleDict attention = new ModuleDict();
                attention.put("self", self);
                ModuleDict layer = new ModuleDict();
                layer.put("attention", attention);
                layers.add(layer);
            }
            ModuleDict encoder = new ModuleDict();
            encoder.put("layer", new ModuleList<>(layers));
            registerModule("encoder", encoder);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void loadsPythonPeftAdapter() throws Exception {
        Path dir = Fixtures.fixture("peft-minilm-qv");
        try (NDManager m = NDManager.newBaseManager()) {
            Skeleton base = new Skeleton();
            base.initialize(m, DataType.FLOAT32);
            PeftModel<?> p = PeftModel.load(base, dir, m);
            assertEquals(12, LoraAdapters.loraLayers(p).size());
            assertEquals("trainable params: 0 || all params: 2,679,552 || trainable%: 0.0000",
                    p.trainableParameters().toString());
            LoraLinear q = LoraAdapters.loraLayers(p).get("encoder.layer.3.attention.self.value");
            assertEquals(2.0, q.settings("default").scaling());
            try (TensorSource src = TensorSources.open(dir.resolve(PeftModel.WEIGHTS_FILE))) {
                String k = "base_model.model.encoder.layer.3.attention.self.value.";
                NDArray a = src.load(k + "lora_A.weight", m);
                NDArray b = src.load(k + "lora_B.weight", m);
                assertTrue(q.loraA("default").parameter("weight").getArray().contentEquals(a));
                assertTrue(b.matMul(a).mul(2).contentEquals(q.deltaWeight("default", m)));
                assertEquals(new Shape(384, 2), b.getShape());
            }
        }
    }
}
