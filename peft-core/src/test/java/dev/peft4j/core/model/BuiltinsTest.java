package dev.peft4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * {@link Builtins} without any provider on the classpath (peft-core's tests do not have
 * peft-minilm): a known id names the artifact to add. With the provider: peft-minilm's
 * MiniLmBuiltinsTest.
 */
class BuiltinsTest {

    @Test
    void noProviderNoIds() {
        assertEquals(List.of(), Builtins.ids());
        assertTrue(Builtins.isBuiltin(Builtins.ALL_MINILM_L6_V2));
        assertFalse(Builtins.isBuiltin("sentence-transformers/all-MiniLM-L6-v2"));
    }

    @Test
    void knownIdWithoutItsModuleNamesTheArtifact() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Builtins.get("builtin:all-minilm-l6-v2"));
        assertEquals(
                "builtin model 'builtin:all-minilm-l6-v2' is not on the classpath: add the Maven dependency"
                        + " dev.peft4j:peft-minilm (same version as peft-core), which provides it",
                e.getMessage());
    }

    @Test
    void unknownIdListsTheKnownOnes() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Builtins.get("builtin:gpt-5"));
        assertEquals("unknown builtin model 'builtin:gpt-5' (known: builtin:all-minilm-l6-v2)", e.getMessage());
    }
}
