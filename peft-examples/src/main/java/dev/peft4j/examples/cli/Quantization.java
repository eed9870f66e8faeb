package dev.peft4j.examples.cli;

import dev.peft4j.core.nn.Module;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.Quantizer;
import picocli.CommandLine;

import java.util.List;
import java.util.Locale;

/** {@code --quantize nf4|fp4}: the base's linear layers become 4-bit before LoRA is injected (QLoRA). */
final class Quantization {

    private Quantization() {}

    /**
     * @param base the loaded model
     * @param type the 4-bit type
     * @return the quantized module paths (heads and embeddings stay in full precision)
     */
    static List<String> apply(Module base, QuantType type) {
        return Quantizer.quantizeModules(base, QuantizationConfig.builder().setQuantType(type).build());
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
