package dev.peft4j.quant;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Expected strings are Python 3's {@code repr(float(v))}. */
class PythonFloatReprTest {

    @Test
    void matchesPythonRepr() {
        assertEquals("2.5724024772644043", PythonFloatRepr.repr(2.5724024772644043f));
        assertEquals("0.07816430181264877", PythonFloatRepr.repr(0.07816430181264877f));
        assertEquals("9.999999350456404e-39", PythonFloatRepr.repr(1e-38f));
        assertEquals("0.1", PythonFloatRepr.repr(0.1));
        assertEquals("0.0001", PythonFloatRepr.repr(1e-4));
        assertEquals("1e-05", PythonFloatRepr.repr(1e-5));
        assertEquals("-2.5e-07", PythonFloatRepr.repr(-2.5e-7));
        assertEquals("123.0", PythonFloatRepr.repr(123));
        assertEquals("1000000000000000.0", PythonFloatRepr.repr(1e15));
        assertEquals("1e+16", PythonFloatRepr.repr(1e16));
        assertEquals("1.5e+16", PythonFloatRepr.repr(1.5e16));
        assertEquals("1.7976931348623157e+308", PythonFloatRepr.repr(Double.MAX_VALUE));
        // Java's shortest-digits writers give 4.9E-324 and 9.9E-324 (never fewer than 2 digits).
        assertEquals("5e-324", PythonFloatRepr.repr(Double.MIN_VALUE));
        assertEquals("1e-323", PythonFloatRepr.repr(2 * Double.MIN_VALUE));
        assertEquals("1.5e-323", PythonFloatRepr.repr(3 * Double.MIN_VALUE));
        assertEquals("0.0", PythonFloatRepr.repr(0.0));
        assertEquals("-0.0", PythonFloatRepr.repr(-0.0));
        assertEquals("-1.0", PythonFloatRepr.repr(-1.0));
    }

    @Test
    void rejectsNonFinite() {
        assertThrows(IllegalArgumentException.class, () -> PythonFloatRepr.repr(Double.NaN));
        assertThrows(IllegalArgumentException.class,
                () -> PythonFloatRepr.repr(Double.POSITIVE_INFINITY));
    }
}
