package dev.peft4j.tuners.bottleneck;

/**
 * AdapterHub's {@code residual_before_ln}: which tensor the adapter's own residual connection adds
 * back, with {@code h} the sublayer output and {@code r} the block's residual input.
 */
public enum ResidualBeforeLn {
    /** {@code true}: the sublayer output {@code h}, before the original LayerNorm. */
    TRUE,
    /** {@code false}: the adapter's input (after the original LayerNorm when it runs before). */
    FALSE,
    /** {@code "post_add"}: {@code h + r}, before the original LayerNorm. */
    POST_ADD;

    /** @return the JSON value: {@code true}, {@code false} or {@code "post_add"} */
    public Object jsonValue() {
        return this == TRUE ? Boolean.TRUE : this == FALSE ? Boolean.FALSE : "post_add";
    }
}
