/** Runnable examples of peft-spark: {@link dev.peft4j.spark.examples.SparkClassify}. */
package dev.peft4j.spark.examples;
