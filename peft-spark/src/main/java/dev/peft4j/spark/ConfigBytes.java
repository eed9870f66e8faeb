package dev.peft4j.spark;

import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.peft.PeftMethod;
import dev.peft4j.core.peft.PeftMethods;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A {@link PeftConfig} of any method as the bytes of its config file, as the method writes and
 * reads it ({@code adapter_config.json}): configs need not be serializable to reach executors.
 *
 * @param peftType the method's {@code peft_type}
 * @param fileName the config file's name
 * @param bytes its contents
 */
record ConfigBytes(String peftType, String fileName, byte[] bytes) implements Serializable {

    @SuppressWarnings("unchecked")
    static ConfigBytes of(PeftConfig config) {
        PeftMethod<PeftConfig> method = (PeftMethod<PeftConfig>) PeftMethods.forType(config.peftType());
        Path dir = null;
        try {
            dir = Files.createTempDirectory("peft4j-config-");
            method.writeConfig(config, dir);
            return new ConfigBytes(config.peftType(), method.configFileName(),
                    Files.readAllBytes(dir.resolve(method.configFileName())));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the " + config.peftType() + " config", e);
        } finally {
            Dirs.deleteQuietly(dir);
        }
    }

    PeftConfig read() {
        PeftMethod<?> method = PeftMethods.forType(peftType);
        Path dir = null;
        try {
            dir = Files.createTempDirectory("peft4j-config-");
            Path file = dir.resolve(fileName);
            Files.write(file, bytes);
            return method.readConfig(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the " + peftType + " config", e);
        } finally {
            Dirs.deleteQuietly(dir);
        }
    }
}
