package dev.peft4j.tuners.bottleneck;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * AdapterHub's bottleneck presets by name ({@code seq-bn}, as {@code peft4j --bottleneck} spells
 * them), each a {@link BottleneckConfig} builder.
 */
public enum BottleneckPreset {
    /** {@code SeqBnConfig} (Pfeiffer): one adapter after the feed-forward block, ReLU, reduction 16. */
    SEQ_BN("seq-bn"),
    /** {@code DoubleSeqBnConfig} (Houlsby): after attention and feed-forward, swish, reduction 16. */
    DOUBLE_SEQ_BN("double-seq-bn"),
    /** {@code ParBnConfig}: parallel to the feed-forward block, ReLU, reduction 2, scaling 4. */
    PAR_BN("par-bn");

    private final String cliName;

    BottleneckPreset(String cliName) {
        this.cliName = cliName;
    }

    /** @return the name, AdapterHub's config name with dashes ({@code double-seq-bn}) */
    public String cliName() {
        return cliName;
    }

    /** @return a builder holding AdapterHub's preset */
    public BottleneckConfig.Builder builder() {
        return switch (this) {
            case SEQ_BN -> BottleneckConfig.seqBn();
            case DOUBLE_SEQ_BN -> BottleneckConfig.doubleSeqBn();
            case PAR_BN -> BottleneckConfig.parBn();
        };
    }

    /**
     * @param name {@code seq-bn}, {@code double-seq-bn} or {@code par-bn} (AdapterHub's {@code
     *     seq_bn}, … and {@code pfeiffer} / {@code houlsby} are accepted too)
     * @return the preset
     * @throws IllegalArgumentException naming the value and the presets
     */
    public static BottleneckPreset parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        if (n.equals("pfeiffer")) {
            return SEQ_BN;
        }
        if (n.equals("houlsby")) {
            return DOUBLE_SEQ_BN;
        }
        for (BottleneckPreset p : values()) {
            if (p.cliName.equals(n)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown bottleneck preset '" + name + "' (expected "
                + Arrays.stream(values()).map(BottleneckPreset::cliName).collect(Collectors.joining("|")) + ")");
    }
}
