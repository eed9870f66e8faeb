/**
 * peft4j on Apache Spark: data-parallel adapter training over a barrier stage ({@link
 * dev.peft4j.spark.SparkFineTuner}, collectives behind {@link dev.peft4j.spark.Collective}) and
 * adapter inference over a text column of a {@code Dataset<Row>} ({@link
 * dev.peft4j.spark.SparkTextModel}). Spark is a {@code provided} dependency (3.5.x, Scala 2.12).
 */
package dev.peft4j.spark;
