/** The {@code peft4j} command-line tool and runnable examples. */
package dev.peft4j.examples;
