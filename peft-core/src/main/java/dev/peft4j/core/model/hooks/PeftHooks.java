package dev.peft4j.core.model.hooks;

import dev.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The PEFT hooks of one model (BERT, BERT classifier, Llama family), found by walking its module
 * tree: the {@link PrefixHost} for {@link InputPrefix} and {@link KeyValuePrefix}, and every
 * {@link ResidualSite} by path. A view: setting a hook changes the model at once; with no hook the
 * model computes exactly what it computes without hooks.
 *
 * <pre>{@code
 * PeftHooks hooks = PeftHooks.of(model);            // or model.hooks()
 * hooks.setInputPrefix(prompt);                       // prompt tuning
 * for (ResidualSite site : hooks.residualSites()) {   // bottleneck adapters
 *     site.setHook((ps, r, training) -> r.standard()); // identity
 * }
 * hooks.clear();
 * }</pre>
 */
public final class PeftHooks {

    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)layers?\\.(\\d+)(?:\\.|$)");

    private final Module model;
    private final PrefixHost prefixHost;
    private final String prefixHostPath;
    private final List<ResidualSite> sites;

    private PeftHooks(Module model, PrefixHost prefixHost, String prefixHostPath, List<ResidualSite> sites) {
        this.model = model;
        this.prefixHost = prefixHost;
        this.prefixHostPath = prefixHostPath;
        this.sites = sites;
    }

    /**
     * @param model a model of a family with hooks, or any module containing one
     * @return its hooks
     * @throws IllegalArgumentException when the model contains more than one prefix host
     */
    public static PeftHooks of(Module model) {
        Objects.requireNonNull(model, "model");
        PrefixHost host = null;
        String hostPath = null;
        List<ResidualSite> sites = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            Module m = e.getValue();
            if (m instanceof PrefixHost) {
                if (host != null) {
                    throw new IllegalArgumentException("the model holds two base models that take prefixes, '"
                            + hostPath + "' and '" + e.getKey() + "': install hooks on one of them");
                }
                host = (PrefixHost) m;
                hostPath = e.getKey();
            }
            if (m instanceof ResidualHost) {
                for (Map.Entry<String, ResidualSlot> s : ((ResidualHost) m).residualSlots().entrySet()) {
                    String path = join(e.getKey(), s.getKey());
                    sites.add(new ResidualSite(path, layerIndex(path), s.getValue()));
                }
            }
        }
        return new PeftHooks(model, host, hostPath, Collections.unmodifiableList(sites));
    }

    private static String join(String a, String b) {
        return a.isEmpty() ? b : b.isEmpty() ? a : a + "." + b;
    }

    private static int layerIndex(String path) {
        Matcher m = LAYER.matcher(path);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** @return the model these hooks belong to */
    public Module model() {
        return model;
    }

    /** @return whether the model takes input and key/value prefixes */
    public boolean supportsPrefixes() {
        return prefixHost != null;
    }

    /**
     * @return the path of the base model that takes the prefixes ({@code ""}, {@code bert} or
     *     {@code model})
     * @throws IllegalStateException when the model takes no prefixes
     */
    public String prefixHostPath() {
        host();
        return prefixHostPath;
    }

    /** @return what prefixes must look like for this model */
    public PrefixShape prefixShape() {
        return host().prefixShape();
    }

    /** @return the installed input prefix, or {@code null} */
    public InputPrefix inputPrefix() {
        return host().inputPrefix();
    }

    /**
     * Installs (or with {@code null} removes) the virtual-token prompt.
     *
     * @param prefix the prompt, or {@code null}
     */
    public void setInputPrefix(InputPrefix prefix) {
        host().setInputPrefix(prefix);
    }

    /** @return the installed key/value prefix, or {@code null} */
    public KeyValuePrefix keyValuePrefix() {
        return host().keyValuePrefix();
    }

    /**
     * Installs (or with {@code null} removes) the per-layer key/value prefix.
     *
     * @param prefix the prefix, or {@code null}
     */
    public void setKeyValuePrefix(KeyValuePrefix prefix) {
        host().setKeyValuePrefix(prefix);
    }

    /** @return every residual site, in module order (per layer: attention, then feed-forward) */
    public List<ResidualSite> residualSites() {
        return sites;
    }

    /**
     * @param path a site path such as {@code encoder.layer.0.output}
     * @return the site
     * @throws IllegalArgumentException naming the first few paths that exist
     */
    public ResidualSite residualSite(String path) {
        for (ResidualSite s : sites) {
            if (s.path().equals(path)) {
                return s;
            }
        }
        List<String> known = new ArrayList<>();
        for (int i = 0; i < Math.min(4, sites.size()); i++) {
            known.add(sites.get(i).path());
        }
        throw new IllegalArgumentException("no residual site '" + path + "' in " + model.getClass().getSimpleName()
                + " (sites: " + known + (sites.size() > 4 ? " … " + sites.size() + " in all" : "") + ")");
    }

    /** @return whether no hook at all is installed */
    public boolean isEmpty() {
        if (prefixHost != null && (prefixHost.inputPrefix() != null || prefixHost.keyValuePrefix() != null)) {
            return false;
        }
        for (ResidualSite s : sites) {
            if (s.hook() != null) {
                return false;
            }
        }
        return true;
    }

    /** Removes every hook. */
    public void clear() {
        if (prefixHost != null) {
            prefixHost.setInputPrefix(null);
            prefixHost.setKeyValuePrefix(null);
        }
        for (ResidualSite s : sites) {
            s.setHook(null);
        }
    }

    private PrefixHost host() {
        if (prefixHost == null) {
            throw new IllegalStateException(model.getClass().getSimpleName()
                    + " contains no BertModel or LlamaModel: it takes no input or key/value prefix");
        }
        return prefixHost;
    }
}
