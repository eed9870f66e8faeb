package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.model.hooks.Residual;
import dev.peft4j.core.model.hooks.ResidualHook;
import dev.peft4j.core.nn.Dropout;
import dev.peft4j.core.nn.LayerNorm;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.nn.Scalars;

import java.util.function.UnaryOperator;

/**
 * One bottleneck adapter at one residual site, AdapterHub's {@code Adapter} / {@code
 * ParallelAdapter} with its keys: {@code adapter_down.0} (Linear; with {@code ln_before} {@code
 * adapter_down.0} is the LayerNorm and {@code adapter_down.1} the Linear), {@code adapter_up},
 * optional {@code adapter_norm_after} and {@code gate}.
 *
 * <p>{@code f(x) = dropout(scaling · up(act(down(LN_before(x)))))}, times the gate {@code
 * mean_t σ(gate(x))} with {@code use_gating}. As a {@link ResidualHook}, with {@code h} the
 * sublayer output, {@code r} the block's residual input and {@code LN} the original frozen norm
 * (none for Llama):
 *
 * <ul>
 *   <li>sequential: {@code x = original_ln_before ? LN(h + r) : h}; adapter residual {@code a =}
 *       {@code h} ({@code residual_before_ln} true), {@code h + r} ({@code post_add}) or {@code x}
 *       (false); {@code o = f(x) + a}, with {@code adapter_norm_after} applied after ({@code
 *       adapter_residual_before_ln}) or before the {@code + a}; output {@code LN(o + r)} with
 *       {@code original_ln_after}, else {@code o};
 *   <li>parallel: {@code o = h + f(r)} (norm after on {@code f}); output {@code LN(o + r)} with
 *       {@code original_ln_after}, else {@code o}.
 * </ul>
 */
public final class BottleneckAdapter extends Module implements ResidualHook {

    private final BottleneckConfig config;
    private final int hidden;
    private final int bottleneck;
    private final UnaryOperator<NDArray> act;
    private final Dropout dropout;

    /**
     * @param config the adapter's configuration
     * @param hidden the model's hidden size
     * @param bottleneck the bottleneck width
     */
    public BottleneckAdapter(BottleneckConfig config, int hidden, int bottleneck) {
        this.config = config;
        this.hidden = hidden;
        this.bottleneck = bottleneck;
        this.act = NonLinearity.of(config.nonLinearity());
        this.dropout = new Dropout(config.dropout());
        ModuleDict down = registerModule("adapter_down", new ModuleDict());
        if (config.lnBefore()) {
            down.put("0", new LayerNorm(hidden, 1e-5f));
        }
        down.put(config.lnBefore() ? "1" : "0", new Linear(hidden, bottleneck, true));
        registerModule("adapter_up", new Linear(bottleneck, hidden, true));
        if (config.lnAfter()) {
            registerModule("adapter_norm_after", new LayerNorm(hidden, 1e-5f));
        }
        if (config.useGating()) {
            registerModule("gate", new Linear(hidden, 1, true));
        }
    }

    /** @return the configuration */
    public BottleneckConfig config() {
        return config;
    }

    /** @return the model's hidden size */
    public int hiddenSize() {
        return hidden;
    }

    /** @return the bottleneck width */
    public int bottleneckSize() {
        return bottleneck;
    }

    /** @return the down projection ({@code adapter_down.0}, or {@code .1} after {@code ln_before}) */
    public Linear downProjection() {
        return (Linear) child("adapter_down").child(config.lnBefore() ? "1" : "0");
    }

    /** @return the up projection ({@code adapter_up}) */
    public Linear upProjection() {
        return (Linear) child("adapter_up");
    }

    /**
     * @param ps the parameter store
     * @param x the adapter's input {@code [B, T, H]}
     * @param training whether this is a training pass (dropout)
     * @return {@code f(x)} before any residual or {@code adapter_norm_after}
     */
    public NDArray bottleneck(ParameterStore ps, NDArray x, boolean training) {
        NDArray in = config.lnBefore() ? ((LayerNorm) child("adapter_down").child("0")).forward(ps, x, training) : x;
        NDArray up = upProjection().forward(ps, act.apply(downProjection().forward(ps, in, training)), training);
        if (config.scaling() != 1.0) {
            up = Scalars.mul(up, config.scaling());
        }
        NDArray out = dropout.forward(up, training);
        if (config.useGating()) {
            NDArray g = Activation.sigmoid(((Linear) child("gate")).forward(ps, x, training));
            out = out.mul(g.mean(new int[] {1}, true));
        }
        return out;
    }

    @Override
    public NDArray apply(ParameterStore ps, Residual site, boolean training) {
        NDArray h = site.output();
        NDArray r = site.residual();
        NDArray o;
        if (config.isParallel()) {
            o = h.add(normAfter(ps, bottleneck(ps, r, training), training));
        } else {
            NDArray x = h;
            NDArray sum = null;
            if (config.originalLnBefore()) {
                sum = h.add(r);
                x = site.norm(sum);
            }
            NDArray a = switch (config.residualBeforeLn()) {
                case TRUE -> h;
                case POST_ADD -> sum != null ? sum : h;
                case FALSE -> x;
            };
            NDArray f = bottleneck(ps, x, training);
            o = config.adapterResidualBeforeLn() ? normAfter(ps, f.add(a), training) : normAfter(ps, f, training).add(a);
        }
        return config.originalLnAfter() ? site.norm(o.add(r)) : o;
    }

    private NDArray normAfter(ParameterStore ps, NDArray x, boolean training) {
        return config.lnAfter() ? ((LayerNorm) child("adapter_norm_after")).forward(ps, x, training) : x;
    }

    /** Not called: the adapter runs as its site's {@link ResidualHook}. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("a bottleneck adapter runs as its site's residual hook");
    }

    @Override
    public String toString() {
        return "BottleneckAdapter(" + hidden + " -> " + bottleneck + ", " + config.nonLinearity()
                + (config.isParallel() ? ", parallel" : "") + ")";
    }
}
