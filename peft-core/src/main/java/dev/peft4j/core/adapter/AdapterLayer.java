package dev.peft4j.core.adapter;

/**
 * Marks a module that an adapter method put in place of a target (a LoRA layer). Target selection
 * never looks inside one, so a second adapter is added to the existing layer instead of wrapping
 * its {@code base_layer}.
 */
public interface AdapterLayer {}
