package dev.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** {@link TensorSources#open} picks the right layout or says what it looked for. */
class TensorSourcesTest {

    @TempDir Path dir;

    private Path weights(String name) throws IOException {
        Path file = dir.resolve(name);
        SafetensorsWriter.create()
                .add("w", DType.U8, new long[] {1}, ByteBuffer.wrap(new byte[] {1}))
                .write(file);
        return file;
    }

    @Test
    void singleFileAndDirectories() throws IOException {
        Path only = weights("adapter_model.safetensors");
        try (TensorSource s = TensorSources.open(only)) {
            assertEquals(only, s.location());
        }
        try (TensorSource s = TensorSources.open(dir)) {
            assertEquals(only, s.location(), "exactly one *.safetensors");
        }
        weights("other.safetensors");
        IOException ambiguous = assertThrows(IOException.class, () -> TensorSources.open(dir));
        assertTrue(
                ambiguous.getMessage().contains("[adapter_model.safetensors, other.safetensors]"),
                ambiguous.getMessage());
        Path model = weights(TensorSources.SINGLE_FILE);
        try (TensorSource s = TensorSources.open(dir)) {
            assertEquals(model, s.location(), "model.safetensors wins");
        }
        Files.writeString(
                dir.resolve(ShardedSafetensors.INDEX_FILE),
                "{\"weight_map\": {\"w\": \"other.safetensors\"}}");
        try (TensorSource s = TensorSources.open(dir)) {
            assertInstanceOf(ShardedSafetensors.class, s, "the index wins");
        }
        try (TensorSource s = TensorSources.open(dir.resolve(ShardedSafetensors.INDEX_FILE))) {
            assertInstanceOf(ShardedSafetensors.class, s);
        }
    }

    @Test
    void emptyDirectorySaysWhatWasLookedFor() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        NoSuchFileException e =
                assertThrows(NoSuchFileException.class, () -> TensorSources.open(dir));
        String message = e.getMessage();
        assertTrue(message.contains(dir.toString()), message);
        assertTrue(
                message.contains(
                        "model.safetensors.index.json, model.safetensors, or exactly one"
                            + " *.safetensors file"),
                message);
    }

    @Test
    void otherFilesAreRejected() throws IOException {
        assertThrows(
                NoSuchFileException.class,
                () -> TensorSources.open(dir.resolve("missing.safetensors")));
        Path bin = Files.writeString(dir.resolve("pytorch_model.bin"), "x");
        IOException e = assertThrows(IOException.class, () -> TensorSources.open(bin));
        assertTrue(e.getMessage().contains("not a safetensors file"), e.getMessage());
    }
}
