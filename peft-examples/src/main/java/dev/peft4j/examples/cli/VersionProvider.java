package dev.peft4j.examples.cli;

import picocli.CommandLine.IVersionProvider;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Reports the project version, filtered into {@code version.properties} by Maven. */
public final class VersionProvider implements IVersionProvider {

    @Override
    public String[] getVersion() throws IOException {
        Properties p = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        }
        return new String[] {
            "peft4j " + p.getProperty("version", "(unknown version)"),
            "Java " + System.getProperty("java.version")
        };
    }
}
