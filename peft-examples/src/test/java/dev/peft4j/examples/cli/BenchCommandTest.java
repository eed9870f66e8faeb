package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

/** {@code peft4j bench --quick} runs every benchmark and prints the table. */
class BenchCommandTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new Peft4jCli());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void quickPrintsEveryRow() {
        String[] r = run("bench", "--quick");
        assertEquals("0", r[0], r[2]);
        String out = r[1];
        System.out.print(out);
        assertTrue(out.startsWith("peft4j bench --quick: "), out);
        List<String> lines = out.lines().toList();
        assertTrue(lines.get(1).matches("benchmark +unit +median +min +max +runs"), lines.get(1));
        for (String row : List.of("GEMM F32 64x64 ", "GEMM F32 128x128 ", "MiniLM load", "MiniLM forward 2x16",
                "F32 copy (System.arraycopy) 256x256", "NF4+DQ quantize (Java) 256x256",
                "NF4+DQ dequantize (Java) 256x256", "NF4+DQ dequantize (NDArray) 256x256",
                "frozen linear fwd+bwd 16x32 -> 64", "LoRA r=2 fwd+bwd 16x32 -> 64", "LoRA r=4 fwd+bwd 16x32 -> 64",
                "LoRA r=4 / frozen (same turn)", "LoRA merge+unmerge", "LoRA merge-and-unload",
                "LoRA r=8 train step 2x16  ", "LoRA r=8 train step 2x16 examples/s", "LoRA r=8 train step 2x16 tokens/s",
                "LoRA r=8 train step 2x16 of GEMM peak", "QLoRA NF4 r=8 train step 2x16  ",
                "QLoRA NF4 r=8 train step 2x16 of GEMM peak", "QLoRA / LoRA train step (same turn)")) {
            assertEquals(1, lines.stream().filter(l -> l.startsWith(row)).count(), row + " in\n" + out);
        }
        assertEquals(26, lines.size(), out);
        // Every row has a positive median.
        for (String l : lines.subList(2, lines.size())) {
            String[] cols = l.split(" +");
            assertTrue(Double.parseDouble(cols[cols.length - 4]) > 0, l);
        }
    }

    @Test
    void fewerThanFiveRunsNeedQuick() {
        String[] r = run("bench", "--runs", "3");
        assertEquals("1", r[0]);
        assertEquals("error: --runs must be at least 5, got 3\n", r[2]);
    }
}
