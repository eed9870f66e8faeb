package dev.peft4j.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The demo's data set, shipped as resources: Amazon Fine Food reviews (SNAP; McAuley and Leskovec,
 * 2013) as packaged in the R package {@code modeldata} ({@code small_fine_foods}, MIT), converted
 * to JSONL with fields {@code product}, {@code text}, {@code label} ({@code great} = 5 stars,
 * {@code other} = fewer); 4,000 training and 1,000 test reviews. See NOTICE.
 */
final class DemoData {

    private static final String DIR = "/dev/peft4j/examples/data/fine-foods/";

    private DemoData() {}

    /**
     * @param name {@code train.jsonl} or {@code test.jsonl}
     * @return the resource's stream
     * @throws IOException when the resource is missing
     */
    static InputStream open(String name) throws IOException {
        InputStream in = DemoData.class.getResourceAsStream(DIR + name);
        if (in == null) {
            throw new NoSuchFileException(DIR + name, null, "demo data missing from the classpath");
        }
        return in;
    }

    /**
     * Copies the first {@code rows} rows (all when 0) of a file into {@code dir}.
     *
     * @param name {@code train.jsonl} or {@code test.jsonl}
     * @param rows rows to keep, 0 for all
     * @param dir the target directory (created)
     * @return the written file
     * @throws IOException when writing fails
     */
    static Path extract(String name, int rows, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(name);
        try (InputStream in = open(name)) {
            if (rows == 0) {
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            } else {
                String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                Files.write(target, text.lines().limit(rows).toList());
            }
        }
        return target;
    }
}
