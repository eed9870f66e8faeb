/** Hand-run benchmarks of the 4-bit codec ({@link dev.peft4j.quant.bench.QuantBench}). */
package dev.peft4j.quant.bench;
