package dev.peft4j.examples;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Runs an example's {@code main} and captures what it prints (also echoed to the real stdout). */
final class MainRun {

    /** An example's {@code main}. */
    interface Main {
        void run(String[] args) throws Exception;
    }

    private MainRun() {}

    /**
     * @param main the example's main
     * @param args its arguments
     * @return the lines it printed on {@code System.out}
     * @throws Exception what main throws
     */
    static synchronized List<String> lines(Main main, String... args) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            main.run(args);
        } finally {
            System.setOut(original);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        original.print(out);
        return out.lines().toList();
    }
}
