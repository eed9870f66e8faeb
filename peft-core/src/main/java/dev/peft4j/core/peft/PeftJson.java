package dev.peft4j.core.peft;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Writes an {@code adapter_config.json} the way PEFT does ({@code json.dumps(indent=2)}): two-space
 * indent, {@code "key": value}, empty objects and arrays as {@code {}} and {@code []}, no trailing
 * newline. Key order is the caller's mapper's and value's.
 */
public final class PeftJson {

    private PeftJson() {}

    /**
     * @param mapper the mapper (its features, e.g. sorted map keys, apply)
     * @param value the config as a map or tree
     * @return the JSON text
     */
    public static String write(ObjectMapper mapper, Object value) {
        DefaultIndenter indent = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter().withSeparators(Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withObjectEmptySeparator("").withArrayEmptySeparator(""));
        pp.indentObjectsWith(indent);
        pp.indentArraysWith(indent);
        try {
            return mapper.writer(pp).writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write adapter config", e);
        }
    }
}
