/** Test helpers shared with the other modules through the peft-core test-jar. */
package dev.peft4j.core.testing;
