/**
 * The {@code peft4j} command-line tool: {@link dev.peft4j.examples.cli.Peft4jCli} and its
 * subcommands ({@code inspect}, {@code logits}, {@code generate}, {@code demo}, …), each a small
 * picocli command class.
 */
package dev.peft4j.examples.cli;
