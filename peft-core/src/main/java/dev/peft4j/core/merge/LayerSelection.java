package dev.peft4j.core.merge;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A set of decoder layers written by a subset export, parsed from ranges such as {@code 0-1,31}:
 * comma-separated indices {@code N} or inclusive ranges {@code N-M} ({@code N <= M}), in any order
 * but not overlapping. A tensor belongs to layer {@code i} when its name has the segment {@code
 * layers.<i>.} ({@code model.layers.3.mlp.up_proj.weight}); tensors of no layer (embeddings, final
 * norm, head) are not in any selection. Immutable.
 */
public final class LayerSelection {

    private static final Pattern PART = Pattern.compile("(\\d+)(?:-(\\d+))?");
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)layers\\.(\\d+)\\.");

    private final BitSet layers;
    private final String spec;

    private LayerSelection(BitSet layers, String spec) {
        this.layers = layers;
        this.spec = spec;
    }

    /**
     * @param spec e.g. {@code 0-1,31}
     * @return the selection
     * @throws IllegalArgumentException naming the part for an empty, malformed, reversed or
     *     overlapping range
     */
    public static LayerSelection parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty layer selection: give layers as N, N-M, ... (e.g. 0-1,31)");
        }
        BitSet set = new BitSet();
        List<String> canonical = new ArrayList<>();
        for (String raw : spec.split(",", -1)) {
            String part = raw.strip();
            Matcher m = PART.matcher(part);
            if (!m.matches()) {
                throw new IllegalArgumentException("invalid layer range '" + part + "' in '" + spec
                        + "': use N or N-M with non-negative integers (e.g. 0-1,31)");
            }
            int from;
            int to;
            try {
                from = Integer.parseInt(m.group(1));
                to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("layer range '" + part + "' in '" + spec + "' is too large", e);
            }
            if (to < from) {
                throw new IllegalArgumentException("layer range '" + part + "' in '" + spec + "' is reversed: "
                        + from + " > " + to);
            }
            int overlap = set.nextSetBit(from);
            if (overlap >= 0 && overlap <= to) {
                throw new IllegalArgumentException("layer range '" + part + "' in '" + spec + "' overlaps another"
                        + " range at layer " + overlap);
            }
            set.set(from, to + 1);
            canonical.add(part);
        }
        return new LayerSelection(set, String.join(",", canonical));
    }

    /**
     * @param layerCount the model's {@code num_hidden_layers}
     * @throws IllegalArgumentException naming the first layer past the model's last
     */
    public void checkWithin(int layerCount) {
        if (layers.length() > layerCount) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "layer %d of '%s' is out of range: the model has %d layers (0-%d)",
                    layers.length() - 1, spec, layerCount, layerCount - 1));
        }
    }

    /**
     * @param layer a layer index
     * @return whether it is selected
     */
    public boolean contains(int layer) {
        return layer >= 0 && layers.get(layer);
    }

    /**
     * @param tensorName a checkpoint tensor name
     * @return whether it belongs to a selected layer
     */
    public boolean matches(String tensorName) {
        Matcher m = LAYER.matcher(tensorName);
        if (!m.find()) {
            return false;
        }
        try {
            return contains(Integer.parseInt(m.group(1)));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** @return the selected layer indices, ascending */
    public int[] layers() {
        return layers.stream().toArray();
    }

    /** @return the selection as given, e.g. {@code 0-1,31} */
    @Override
    public String toString() {
        return spec;
    }
}
