package dev.peft4j.minilm;

import java.io.IOException;

/**
 * Thrown when ONNX model bytes are malformed, truncated, or use a feature this reader does not
 * support. The message names the source and the problem, e.g. {@code "malformed ONNX model
 * model.onnx: truncated varint at byte 12 (in graph.initializer[3])"}.
 */
public class OnnxFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The model's name or path. */
    private final String source;

    /** What is wrong, without the source. */
    private final String problem;

    /**
     * Creates the exception.
     *
     * @param source the model's name or path, for the message
     * @param problem what is wrong
     */
    public OnnxFormatException(String source, String problem) {
        this(source, problem, null);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param source the model's name or path, for the message
     * @param problem what is wrong
     * @param cause the underlying exception, or {@code null}
     */
    public OnnxFormatException(String source, String problem, Throwable cause) {
        super("malformed ONNX model " + source + ": " + problem, cause);
        this.source = source;
        this.problem = problem;
    }

    /** @return the model's name or path */
    public String source() {
        return source;
    }

    /** @return the problem, without the source */
    public String problem() {
        return problem;
    }
}
