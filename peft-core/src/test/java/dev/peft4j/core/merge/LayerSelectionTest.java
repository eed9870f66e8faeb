package dev.peft4j.core.merge;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Layer ranges of a subset export: parsing, refusals, which tensor names they select. */
class LayerSelectionTest {

    private static String error(String spec) {
        return assertThrows(IllegalArgumentException.class, () -> LayerSelection.parse(spec)).getMessage();
    }

    @Test
    void parsesIndicesAndInclusiveRanges() {
        LayerSelection s = LayerSelection.parse("0-1, 31,5-6");
        assertArrayEquals(new int[] {0, 1, 5, 6, 31}, s.layers());
        assertEquals("0-1,31,5-6", s.toString());
        assertTrue(s.matches("model.layers.31.mlp.down_proj.weight"));
        assertTrue(s.matches("model.layers.0.input_layernorm.weight"));
        assertFalse(s.matches("model.layers.2.self_attn.q_proj.weight"));
        assertFalse(s.matches("model.layers.10.self_attn.q_proj.weight"), "10 is not 1 or 0");
        assertFalse(s.matches("model.embed_tokens.weight"));
        assertFalse(s.matches("lm_head.weight"));
        assertTrue(LayerSelection.parse("3").matches("layers.3.x"));
        s.checkWithin(32);
    }

    @Test
    void refusesBadRanges() {
        assertEquals("layer range '1' in '0-1,1' overlaps another range at layer 1", error("0-1,1"));
        assertEquals("layer range '2-5' in '4-6,2-5' overlaps another range at layer 4", error("4-6,2-5"));
        assertEquals("layer range '3-1' in '3-1' is reversed: 3 > 1", error("3-1"));
        assertEquals("invalid layer range '-1' in '-1': use N or N-M with non-negative integers (e.g. 0-1,31)",
                error("-1"));
        assertEquals("invalid layer range '' in '0,': use N or N-M with non-negative integers (e.g. 0-1,31)",
                error("0,"));
        assertEquals("invalid layer range 'a' in 'a': use N or N-M with non-negative integers (e.g. 0-1,31)",
                error("a"));
        assertEquals("empty layer selection: give layers as N, N-M, ... (e.g. 0-1,31)", error(" "));
        assertEquals("layer range '99999999999' in '99999999999' is too large", error("99999999999"));
        assertEquals("layer 32 of '0-1,32' is out of range: the model has 32 layers (0-31)",
                assertThrows(IllegalArgumentException.class, () -> LayerSelection.parse("0-1,32").checkWithin(32))
                        .getMessage());
    }

    @Test
    void outputDtypes() {
        assertEquals(OutputDtype.BF16, OutputDtype.parse("bfloat16"));
        assertEquals(OutputDtype.F32, OutputDtype.parse("F32"));
        assertEquals(dev.peft4j.core.io.DType.BF16, OutputDtype.BASE.resolve(dev.peft4j.core.io.DType.BF16));
        assertEquals(dev.peft4j.core.io.DType.F16, OutputDtype.F16.resolve(dev.peft4j.core.io.DType.BF16));
        assertEquals(dev.peft4j.core.io.DType.I64, OutputDtype.F16.resolve(dev.peft4j.core.io.DType.I64));
        assertEquals("unknown output dtype 'int8' (base, f32, bf16, f16)",
                assertThrows(IllegalArgumentException.class, () -> OutputDtype.parse("int8")).getMessage());
    }
}
