package dev.peft4j.examples.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.ShardedSafetensors;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * Rewrites a checkpoint tensor by tensor into a new one with the same file layout: a {@code
 * .safetensors} file into a file, a model directory into a directory holding the same weight files
 * (one {@code model.safetensors}, or the same shards and a new {@code
 * model.safetensors.index.json}) and copies of its other files ({@code config.json}, tokenizer
 * files, ...); {@code config.json} can be edited on the way (it is then re-serialized by Jackson,
 * else copied byte for byte). Each output file is built from its input file alone, so memory is bounded by one
 * file's output. A directory is built under a temporary name beside the target and renamed into
 * place at the end; a file is written atomically by {@link SafetensorsWriter}.
 */
final class CheckpointRewriter {

    /** The Hugging Face configuration file of a model directory. */
    static final String CONFIG_FILE = "config.json";

    /** Rewrites the tensors of one weight file. */
    @FunctionalInterface
    interface FileRewrite {
        /**
         * @param file the input weight file
         * @param all every tensor of the checkpoint (for entries that span files)
         * @param writer receives the output tensors
         * @return the number of tensors transformed
         */
        int rewrite(SafetensorsFile file, TensorSource all, SafetensorsWriter writer)
                throws IOException;
    }

    private CheckpointRewriter() {}

    /**
     * @param in a {@code .safetensors} file or a model directory
     * @param out the output file (or existing directory, for a file input) or the output
     *     directory (absent or empty, for a directory input)
     * @param fn the per-file rewrite
     * @return the written file or directory and the number of tensors transformed
     */
    static Map.Entry<Path, Integer> rewrite(Path in, Path out, FileRewrite fn) throws IOException {
        return rewrite(in, out, fn, UnaryOperator.identity());
    }

    /**
     * @param in a {@code .safetensors} file or a model directory
     * @param out as for {@link #rewrite(Path, Path, FileRewrite)}
     * @param fn the per-file rewrite
     * @param configEdit applied to a copy of the directory's {@code config.json} after every weight
     *     file is rewritten; unused for a file input
     * @return the written file or directory and the number of tensors transformed
     */
    static Map.Entry<Path, Integer> rewrite(Path in, Path out, FileRewrite fn, UnaryOperator<ObjectNode> configEdit)
            throws IOException {
        if (!Files.exists(in)) {
            throw new NoSuchFileException(in.toString());
        }
        if (!Files.isDirectory(in)) {
            Path target = Files.isDirectory(out) ? out.resolve(in.getFileName()) : out;
            if (target.toAbsolutePath().normalize().equals(in.toAbsolutePath().normalize())) {
                throw new IOException("--out must differ from --in: " + in);
            }
            try (SafetensorsFile file = SafetensorsFile.open(in)) {
                int n = rewriteFile(file, file, target, fn);
                return Map.entry(target, n);
            }
        }
        if (Files.exists(out)) {
            if (!Files.isDirectory(out)) {
                throw new FileAlreadyExistsException(
                        out.toString(), null, "the output must be a directory (the input is one)");
            }
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new FileAlreadyExistsException(
                            out.toString(), null, "the output directory exists and is not empty");
                }
            }
        }
        Path absOut = out.toAbsolutePath();
        Files.createDirectories(absOut.getParent());
        Path tmp = absOut.getParent().resolve(
                "." + absOut.getFileName() + ".tmp-"
                        + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36));
        Files.createDirectory(tmp);
        boolean done = false;
        try {
            int n = rewriteDirectory(in, tmp, fn, configEdit);
            if (Files.isDirectory(out)) {
                Files.delete(out);
            }
            Files.move(tmp, absOut, StandardCopyOption.ATOMIC_MOVE);
            done = true;
            return Map.entry(out, n);
        } finally {
            if (!done) {
                deleteTree(tmp);
            }
        }
    }

    private static int rewriteDirectory(Path in, Path tmp, FileRewrite fn, UnaryOperator<ObjectNode> configEdit)
            throws IOException {
        List<Path> weightFiles = new ArrayList<>();
        int n = 0;
        try (TensorSource all = TensorSources.open(in)) {
            boolean sharded = all instanceof ShardedSafetensors;
            if (sharded) {
                weightFiles.addAll(((ShardedSafetensors) all).shardFiles());
            } else {
                weightFiles.add(all.location());
            }
            Map<String, String> weightMap = new LinkedHashMap<>();
            long totalSize = 0;
            for (Path shard : weightFiles) {
                Path target = tmp.resolve(shard.getFileName().toString());
                try (SafetensorsFile file = SafetensorsFile.open(shard)) {
                    n += rewriteFile(file, all, target, fn);
                }
                try (SafetensorsFile written = SafetensorsFile.open(target)) {
                    for (String name : written.names()) {
                        weightMap.put(name, target.getFileName().toString());
                        totalSize += written.info(name).byteSize();
                    }
                }
            }
            if (sharded) {
                ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
                ObjectNode index = mapper.createObjectNode();
                index.putObject("metadata").put("total_size", totalSize);
                ObjectNode map = index.putObject("weight_map");
                weightMap.forEach(map::put);
                Files.write(
                        tmp.resolve(ShardedSafetensors.INDEX_FILE), mapper.writeValueAsBytes(index));
            }
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(in)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                boolean weights = name.endsWith(".safetensors")
                        || name.equals(ShardedSafetensors.INDEX_FILE);
                if (Files.isRegularFile(f) && name.equals(CONFIG_FILE)) {
                    copyConfig(f, tmp.resolve(name), configEdit);
                } else if (Files.isRegularFile(f) && !weights) {
                    Files.copy(f, tmp.resolve(name));
                }
            }
        }
        return n;
    }

    private static void copyConfig(Path from, Path to, UnaryOperator<ObjectNode> edit) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        JsonNode original;
        try {
            original = mapper.readTree(from.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(from + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!(original instanceof ObjectNode obj)) {
            throw new IOException(from + " must hold a JSON object");
        }
        ObjectNode edited = edit.apply(obj.deepCopy());
        if (edited.equals(original)) {
            Files.copy(from, to);
        } else {
            mapper.writeValue(to.toFile(), edited);
        }
    }

    private static int rewriteFile(
            SafetensorsFile file, TensorSource all, Path target, FileRewrite fn) throws IOException {
        SafetensorsWriter writer = SafetensorsWriter.create().metadata(file.metadata());
        int n = fn.rewrite(file, all, writer);
        writer.write(target);
        return n;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a leftover temporary directory is harmless
        }
    }
}
