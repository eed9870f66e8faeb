package dev.peft4j.core.adapter;

import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Puts adapter layers in place of the targets a {@link TargetMatcher} selects, all or nothing:
 * every target is selected and {@linkplain Factory#check checked} before the first one is
 * replaced, so an error leaves the model as it was.
 */
public final class AdapterInjector {

    private AdapterInjector() {}

    /** Makes the adapter layer for one target; knows the adapter method. */
    public interface Factory {

        /**
         * Checks that {@code target} can take the adapter; must not change anything.
         *
         * @param path the target's module path
         * @param target the module there (a base linear layer, or an existing {@link AdapterLayer})
         * @throws IllegalArgumentException naming the layer when it cannot
         */
        void check(String path, LinearLike target);

        /**
         * Makes the module that replaces {@code target}; it may return {@code target} itself after
         * adding an adapter to an existing {@link AdapterLayer}.
         *
         * @param path the target's module path
         * @param target the module there
         * @return the module to put at {@code path}
         */
        Module create(String path, LinearLike target);
    }

    /**
     * Selects, checks, then replaces.
     *
     * @param root the model, changed in place
     * @param matcher chooses the targets
     * @param factory makes the adapter layers
     * @return the target paths, in tree order
     * @throws IllegalArgumentException when no target matches, a match is not linear, or a check
     *     fails; the model is then unchanged
     */
    public static List<String> inject(Module root, TargetMatcher matcher, Factory factory) {
        Objects.requireNonNull(root, "root");
        Objects.requireNonNull(factory, "factory");
        List<String> paths = matcher.select(root);
        List<LinearLike> targets = new ArrayList<>();
        for (String p : paths) {
            LinearLike t = (LinearLike) root.getModule(p);
            factory.check(p, t);
            targets.add(t);
        }
        for (int i = 0; i < paths.size(); i++) {
            Module replacement = factory.create(paths.get(i), targets.get(i));
            if (replacement != targets.get(i)) {
                root.setModule(paths.get(i), replacement);
            }
        }
        return paths;
    }
}
