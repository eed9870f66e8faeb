package dev.peft4j.lora;

import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Module;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * PEFT's saved keys for one adapter: {@code base_model.model.<path>.lora_A.weight}, {@code
 * .lora_B.weight}, {@code .lora_magnitude_vector} (DoRA), and biases for {@code bias = all / lora_only} under
 * their in-model paths (which pass through {@code base_layer} in adapted layers, as in PEFT).
 * {@code modules_to_save} are added by {@link dev.peft4j.core.peft.PeftModel}.
 */
final class AdapterStateDict {

    /** PEFT's prefix of every saved key. */
    static final String PREFIX = "base_model.model.";

    private AdapterStateDict() {}

    /** Key → parameter of one adapter, in tree order. */
    static Map<String, Parameter> parameters(Module base, String adapter, LoraConfig cfg) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : base.namedModules().entrySet()) {
            if (e.getValue() instanceof LoraLinear l && l.adapterNames().contains(adapter)) {
                String p = PREFIX + e.getKey();
                out.put(p + ".lora_A.weight", l.loraA(adapter).parameter("weight"));
                out.put(p + ".lora_B.weight", l.loraB(adapter).parameter("weight"));
                if (l.settings(adapter).useDora()) {
                    out.put(p + ".lora_magnitude_vector", l.magnitude(adapter));
                }
                if (cfg.bias() == LoraBias.LORA_ONLY && l.biasParameter() != null) {
                    out.put(p + ".base_layer.bias", l.biasParameter());
                }
            }
        }
        if (cfg.bias() == LoraBias.ALL) {
            for (Map.Entry<String, Parameter> e : base.namedParameters().entrySet()) {
                String k = e.getKey();
                if (k.endsWith("bias") && !k.contains(".lora_")) {
                    out.put(PREFIX + k, e.getValue());
                }
            }
        }
        return out;
    }
}
