/**
 * peft4j on Apache Spark: data-parallel adapter training over a barrier stage ({@link
 * dev.peft4j.spark.SparkFineTuner} for classifiers, {@link dev.peft4j.spark.SparkCausalLmFineTuner}
 * for causal language models; gradient accumulation, loss over the global example or trained-token
 * count; collectives behind {@link dev.peft4j.spark.Collective}, over TCP between the tasks or through
 * the driver: {@link dev.peft4j.spark.Transport}) and adapter inference over a text
 * column of a {@code Dataset<Row>} ({@link dev.peft4j.spark.SparkTextModel}). Frozen bases are
 * loaded once per executor JVM. Spark is a {@code provided} dependency (3.5.x, Scala 2.12; the
 * {@code spark4} build profile: 4.2, Scala 2.13).
 */
package dev.peft4j.spark;
