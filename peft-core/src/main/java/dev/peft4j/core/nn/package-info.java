/**
 * The named module tree: Hugging Face-style modules built on DJL's {@link ai.djl.nn.AbstractBlock},
 * whose parameters carry Hugging Face dotted paths ({@code encoder.layer.0.attention.self.query.weight})
 * and whose children can be found by path and replaced in place (what adapter injection needs).
 */
package dev.peft4j.core.nn;
