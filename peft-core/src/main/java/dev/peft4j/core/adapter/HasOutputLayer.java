package dev.peft4j.core.adapter;

import java.util.List;

/**
 * Implemented by a model to name its output layer(s), which {@code "all-linear"} leaves alone
 * (PEFT: the output embeddings, or the classification head of a sequence classifier). Models that
 * do not implement it get the convention of {@link TargetMatcher#outputLayers}.
 */
public interface HasOutputLayer {

    /** @return module paths of the output layer(s), e.g. {@code lm_head} */
    List<String> outputLayerPaths();
}
