package dev.peft4j.core.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link RowRouting}: groups per window, the gather back into row order, and the checks' messages. */
class RowRoutingTest {

    @Test
    void groupsAndWindows() {
        RowRouting r = new RowRouting(List.of("b", RowRouting.BASE, "a", "b", "a"));
        Map<String, long[]> g = r.groups();
        assertEquals(List.of("b", RowRouting.BASE, "a"), List.copyOf(g.keySet()));
        assertArrayEquals(new long[] {0, 3}, g.get("b"));
        assertArrayEquals(new long[] {2, 4}, g.get("a"));
        r.setWindow(3, 2);
        assertEquals(2, r.batchSize());
        assertEquals("b", r.adapterOfRow(0));
        assertArrayEquals(new long[] {1}, r.groups().get("a"));
        try (RowRouting.Window w = RowRouting.window(r, 1, 2)) {
            assertEquals(RowRouting.BASE, r.adapterOfRow(0));
        }
        assertEquals(5, r.batchSize());
        assertEquals("rows [4, 6) are outside the 5 adapter names",
                assertThrows(IllegalArgumentException.class, () -> r.setWindow(4, 2)).getMessage());
    }

    @Test
    void combinePutsEachGroupsRowsBack() {
        try (NDManager m = NDManager.newBaseManager()) {
            RowRouting r = new RowRouting(List.of("b", RowRouting.BASE, "a", "b"));
            NDArray x = m.create(new float[] {1, 2, 3, 4}, new Shape(4, 1));
            // a: x * 10, b: x * 100, base: zeros
            NDArray out = r.combine(x, (adapter, rows) -> switch (adapter) {
                case "a" -> rows.mul(m.create(10f));
                case "b" -> rows.mul(m.create(100f));
                default -> null;
            }, new Shape(1));
            assertArrayEquals(new float[] {100, 0, 30, 400}, out.toFloatArray());
            assertNull(r.combine(x, (adapter, rows) -> null, new Shape(1)), "no group contributes");
        }
    }

    @Test
    void checksNameTheProblem() {
        try (NDManager m = NDManager.newBaseManager()) {
            RowRouting r = new RowRouting(List.of("a", "b"));
            NDArray three = m.zeros(new Shape(3, 4));
            assertEquals("the batch has 3 rows but 2 adapter names were given (layer.q)",
                    assertThrows(IllegalArgumentException.class, () -> r.check(three, false, "layer.q")).getMessage());
            assertEquals("mixed-adapter batches (adapter names per row) are for inference: layer.q was run with"
                    + " training=true", assertThrows(IllegalStateException.class,
                    () -> r.check(m.zeros(new Shape(2, 4)), true, "layer.q")).getMessage());
            assertEquals("embed got 3 inputs but 2 adapter names",
                    assertThrows(IllegalArgumentException.class, () -> r.checkRows(3, "embed")).getMessage());
            assertEquals("adapter names must name one adapter per row, got none",
                    assertThrows(IllegalArgumentException.class, () -> new RowRouting(List.of())).getMessage());
        }
    }
}
