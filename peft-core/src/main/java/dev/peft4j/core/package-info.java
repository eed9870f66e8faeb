/** Core of peft4j: tensors on disk, the named module tree, model families, adapter injection and training. */
package dev.peft4j.core;
