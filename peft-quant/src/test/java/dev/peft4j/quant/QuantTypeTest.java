package dev.peft4j.quant;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Code tables and their lookup. */
class QuantTypeTest {

    @Test
    void tablesAndNames() {
        assertEquals(16, QuantType.NF4.code().length);
        assertEquals(-0.6961928009986877f, QuantType.NF4.value(1));
        assertEquals(0.0052f, QuantType.FP4.value(1));
        assertEquals(-0.25f, QuantType.FP4.value(15));
        assertEquals(QuantType.NF4, QuantType.fromBnbName("nf4"));
        assertEquals(QuantType.FP4, QuantType.fromBnbName("FP4"));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> QuantType.fromBnbName("int4"));
        assertTrue(e.getMessage().contains("int4"));
    }

    @Test
    void everyCodeValueMapsToItself() {
        for (QuantType type : QuantType.values()) {
            CodeBook book = type.codeBook();
            for (int i = 0; i < 16; i++) {
                int found = book.index16(type.value(i));
                assertEquals(type.value(i), type.value(found), type + " code " + i);
                assertEquals(found, book.index(type.value(i)));
            }
        }
        // FP4's two zeros: 0 itself gets index 0.
        assertEquals(0, QuantType.FP4.codeBook().index16(0f));
        assertEquals(7, QuantType.NF4.codeBook().index16(0f));
    }

    @Test
    void clampedExtremesGetTheEndCodes() {
        assertEquals(0, QuantType.NF4.codeBook().index16(-1f));
        assertEquals(15, QuantType.NF4.codeBook().index16(1f));
        assertEquals(11, QuantType.FP4.codeBook().index16(-1f));
        assertEquals(3, QuantType.FP4.codeBook().index16(1f));
    }
}
