/**
 * BERT encoders as in Hugging Face Transformers: {@link dev.peft4j.core.model.bert.BertConfig},
 * {@link dev.peft4j.core.model.bert.BertModel} (with HF parameter names, padded-batch attention
 * masks, and training-only dropout), {@link
 * dev.peft4j.core.model.bert.BertForSequenceClassification}, and sentence-transformers' mean
 * pooling ({@link dev.peft4j.core.model.bert.MeanPooling}).
 */
package dev.peft4j.core.model.bert;
