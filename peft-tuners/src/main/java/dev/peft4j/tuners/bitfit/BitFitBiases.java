package dev.peft4j.tuners.bitfit;

import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Which modules' {@code bias} a {@link BitFitConfig} trains: every module of the base with a direct
 * parameter named {@code bias} that {@code target_modules} selects (all by default) and {@code
 * exclude_modules} does not, outside the modules saved whole ({@code modules_to_save}; {@code
 * classifier}/{@code score} for {@code SEQ_CLS}).
 */
final class BitFitBiases {

    private BitFitBiases() {}

    /**
     * @param base the base model
     * @param config the configuration
     * @return module paths, in tree order, never empty
     * @throws IllegalArgumentException naming the entries of {@code target_modules} that select no
     *     bias, or when nothing is selected
     */
    static List<String> select(Module base, BitFitConfig config) {
        List<String> whole = new ArrayList<>(config.modulesToSave() == null ? List.of() : config.modulesToSave());
        if ("SEQ_CLS".equals(config.taskType())) {
            whole.addAll(List.of("classifier", "score"));
        }
        TargetModules targets = config.targetModules();
        TargetModules exclude = config.excludeModules();
        List<String> out = new ArrayList<>();
        TreeSet<String> unused = new TreeSet<>(targets != null && targets.isList() ? targets.names() : List.of());
        for (Map.Entry<String, Module> e : base.namedModules().entrySet()) {
            String path = e.getKey();
            if (!e.getValue().directParameters().containsKey("bias") || underAny(path, whole)) {
                continue;
            }
            if (targets != null) {
                if (!targets.matches(path)) {
                    continue;
                }
                unused.removeIf(n -> path.equals(n) || path.endsWith("." + n));
            }
            if (exclude == null || !exclude.matches(path)) {
                out.add(path);
            }
        }
        if (!unused.isEmpty()) {
            throw new IllegalArgumentException("target_modules " + unused + " name no module with a bias in "
                    + base.getClass().getSimpleName() + (whole.isEmpty() ? "" : " outside modules_to_save " + whole)
                    + "; biases are e.g. " + examples(base));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("BitFit selected no bias of " + base.getClass().getSimpleName()
                    + " (target_modules " + (targets == null ? BitFitConfig.ALL : targets) + ", exclude_modules "
                    + exclude + ")");
        }
        return out;
    }

    private static boolean underAny(String path, List<String> names) {
        for (String n : names) {
            String[] parts = path.split("\\.");
            StringBuilder prefix = new StringBuilder();
            for (String p : parts) {
                prefix.append(prefix.length() == 0 ? "" : ".").append(p);
                String s = prefix.toString();
                if (s.equals(n) || s.endsWith("." + n)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String examples(Module base) {
        List<String> ex = new ArrayList<>();
        for (Map.Entry<String, Module> e : base.namedModules().entrySet()) {
            if (e.getValue().directParameters().containsKey("bias") && ex.size() < 5) {
                ex.add(e.getKey());
            }
        }
        return ex.isEmpty() ? "(none)" : String.join(", ", ex);
    }
}
