/**
 * Runnable benchmarks (plain {@code main} classes, never run by the test suite): see {@link
 * dev.peft4j.core.bench.MiniLmForwardBench}.
 */
package dev.peft4j.core.bench;
