package dev.peft4j.examples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;

/** {@code peft4j inspect PATH}: lists the tensors of a checkpoint without loading them. */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "List the tensors of a checkpoint (name, dtype, shape), the totals and the metadata.",
            "PATH is a .safetensors file, a sharded checkpoint's index or directory, or a Hugging"
                    + " Face model directory (config.json + safetensors weights)."
        })
final class InspectCommand extends CliCommand {

    @Parameters(paramLabel = "PATH", description = "File or directory to inspect.")
    Path path;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    int run() throws Exception {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        WeightsSummary summary = WeightsSummary.read(path, mapper);
        PrintWriter out = out();
        if (json) {
            out.println(mapper.writeValueAsString(SummaryPrinter.toJson(summary, mapper)));
            out.flush();
        } else {
            SummaryPrinter.printText(summary, out);
        }
        return 0;
    }
}
