package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Module;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.Linear4bit;
import picocli.CommandLine;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Helpers for the 4-bit options: the {@code nf4|fp4} converter and model weight bytes. */
final class Quantization {

    private Quantization() {}

    /**
     * The bytes a model's weights occupy on their device: a 4-bit layer's packed codes and float32
     * block scales ({@link Linear4bit#deviceBytes()}), every other parameter's array; shared
     * (tied) parameters count once.
     *
     * @param model the model
     * @return the total in bytes
     */
    static long weightBytes(Module model) {
        long total = 0;
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Module m : model.namedModules().values()) {
            for (Map.Entry<String, Parameter> e : m.directParameters().entrySet()) {
                Parameter p = e.getValue();
                if (!seen.add(p) || !p.isInitialized()) {
                    continue;
                }
                if (m instanceof Linear4bit q && e.getKey().equals("weight")) {
                    total += q.deviceBytes();
                } else {
                    NDArray a = p.getArray();
                    total += a.size() * a.getDataType().getNumOfBytes();
                }
            }
        }
        return total;
    }

    /** Accepts {@code nf4} and {@code fp4}, any case. */
    static final class Converter implements CommandLine.ITypeConverter<QuantType> {
        @Override
        public QuantType convert(String value) {
            switch (value.toLowerCase(Locale.ROOT)) {
                case "nf4":
                    return QuantType.NF4;
                case "fp4":
                    return QuantType.FP4;
                default:
                    throw new CommandLine.TypeConversionException("expected nf4 or fp4, got '" + value + "'");
            }
        }
    }
}
