package dev.peft4j.examples.cli;

import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** Placeholder for the end-to-end demo: says what it will do. */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = "Fine-tune a LoRA adapter on a sentiment task (not implemented yet).")
final class DemoCommand extends CliCommand {

    @Override
    int run() {
        PrintWriter out = out();
        out.println("peft4j demo (not implemented yet). When ready it will:");
        out.println("  1. load sentence-transformers/all-MiniLM-L6-v2 (a 6-layer BERT encoder);");
        out.println(
                "  2. inject LoRA adapters (r=8) into the query and value projections of every");
        out.println("     attention layer, freezing all base weights;");
        out.println("  3. fine-tune adapters plus a classification head on the Amazon Fine Food");
        out.println("     reviews (4,000 training reviews, labels great/other);");
        out.println("  4. report test accuracy against the frozen-embedding baseline (78.2%);");
        out.println("  5. save the adapter in Hugging Face PEFT format (adapter_config.json +");
        out.println("     adapter_model.safetensors), loadable by Python's peft.");
        out.flush();
        return 0;
    }
}
