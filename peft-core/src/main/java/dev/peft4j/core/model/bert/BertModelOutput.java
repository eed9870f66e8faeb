package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;

/**
 * What {@link BertModel} returns, as Hugging Face's {@code BaseModelOutputWithPooling}.
 *
 * @param lastHiddenState {@code [B, T, H]}
 * @param pooledOutput {@code [B, H]} from the pooler, or {@code null} when the model has none
 */
public record BertModelOutput(NDArray lastHiddenState, NDArray pooledOutput) {}
