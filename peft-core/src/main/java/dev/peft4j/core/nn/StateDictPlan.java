package dev.peft4j.core.nn;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Which checkpoint tensor fills which parameter, decided before anything is loaded: the first half
 * of every state-dict load ({@link StateDictLoader}, and loaders of packed weights that plug in
 * their own {@link Fit}). A parameter reachable under several paths (tied weights) is planned
 * once; a parameter no tensor fills is reported missing.
 */
public final class StateDictPlan {

    /**
     * A checkpoint tensor matched to the parameter it fills.
     *
     * @param name the checkpoint name
     * @param path the parameter's full path
     * @param parameter the parameter
     * @param owner the module that declares the parameter
     * @param local the parameter's name within its owner
     */
    public record Entry(String name, String path, Parameter parameter, Module owner, String local) {}

    /** Decides whether a checkpoint tensor can fill a parameter. */
    @FunctionalInterface
    public interface Fit {
        /**
         * @param name the checkpoint name
         * @param info the checkpoint tensor
         * @param owner the module declaring the parameter
         * @param local the parameter's name within its owner
         * @return whether the tensor fits
         */
        boolean test(String name, TensorInfo info, Module owner, String local);

        /** @return the default rule: the tensor has the owner's {@link Module#checkpointShape} */
        static Fit sameShape() {
            return (name, info, owner, local) -> owner.checkpointShape(local).equals(info.djlShape());
        }
    }

    private final List<Entry> entries;
    private final StateDictReport report;

    private StateDictPlan(List<Entry> entries, StateDictReport report) {
        this.entries = List.copyOf(entries);
        this.report = report;
    }

    /**
     * Matches every checkpoint tensor to a parameter.
     *
     * @param root the tree to fill
     * @param source the checkpoint
     * @param keyMapper checkpoint name → parameter path; {@code null} skips the tensor silently
     * @param ignore checkpoint names to skip silently
     * @param fit whether a tensor fits its parameter; a misfit is reported as a shape mismatch
     * @return the plan with its report
     */
    public static StateDictPlan of(
            Module root,
            TensorSource source,
            Function<String, String> keyMapper,
            Predicate<String> ignore,
            Fit fit) {
        Map<String, Entry> slots = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            for (Map.Entry<String, Parameter> p : e.getValue().directParameters().entrySet()) {
                String path = Module.join(e.getKey(), p.getKey());
                slots.put(path, new Entry(null, path, p.getValue(), e.getValue(), p.getKey()));
            }
        }
        List<Entry> planned = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<StateDictReport.ShapeMismatch> mismatched = new ArrayList<>();
        Set<Parameter> filled = Collections.newSetFromMap(new IdentityHashMap<>());
        for (String name : source.names()) {
            if (ignore.test(name)) {
                continue;
            }
            String path = keyMapper.apply(name);
            if (path == null) {
                continue;
            }
            Entry slot = slots.get(path);
            if (slot == null) {
                unexpected.add(name);
                continue;
            }
            TensorInfo info = source.info(name);
            if (!fit.test(name, info, slot.owner(), slot.local())) {
                Shape want = slot.owner().checkpointShape(slot.local());
                mismatched.add(new StateDictReport.ShapeMismatch(path, want, info.djlShape()));
                continue;
            }
            if (filled.add(slot.parameter())) {
                planned.add(new Entry(name, path, slot.parameter(), slot.owner(), slot.local()));
            }
        }
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : root.namedParameters().entrySet()) {
            if (!filled.contains(e.getValue())) {
                missing.add(e.getKey());
            }
        }
        return new StateDictPlan(
                planned, new StateDictReport(missing, unexpected, mismatched, planned.size()));
    }

    /** @return the matched tensors, in checkpoint order */
    public List<Entry> entries() {
        return entries;
    }

    /** @return what is missing, unexpected or mismatched */
    public StateDictReport report() {
        return report;
    }

    /**
     * Throws when the plan is not clean and {@code strict} is set.
     *
     * @param strict whether any problem is an error
     * @param where the checkpoint, for the message
     * @return this plan
     * @throws StateDictException listing every problem
     */
    public StateDictPlan check(boolean strict, String where) {
        return check(strict, path -> false, where);
    }

    /**
     * Throws when the plan is not clean and {@code strict} is set, tolerating missing parameters
     * that {@code mayBeMissing} accepts (a fresh head the caller initializes).
     *
     * @param strict whether any other problem is an error
     * @param mayBeMissing parameter paths allowed to be absent from the checkpoint
     * @param where the checkpoint, for the message
     * @return this plan
     * @throws StateDictException listing every problem (all missing parameters included)
     */
    public StateDictPlan check(boolean strict, Predicate<String> mayBeMissing, String where) {
        boolean missingOk = report.missing().stream().allMatch(mayBeMissing);
        if (strict && (!missingOk || !report.unexpected().isEmpty() || !report.mismatched().isEmpty())) {
            throw new StateDictException(where, report);
        }
        return this;
    }
}
