package dev.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The NDArray path gives exactly the Java reference's values. */
class NDArrayDequantizerTest {

    private static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * 0.05);
        }
        return x;
    }

    @Test
    void equalsJavaPathBitForBit() {
        // Odd counts, partial 4-bit blocks, several (and partial) nested blocks, both types.
        int[][] shapes = {{7}, {3, 21}, {64, 32}, {301, 64}, {1, 64 * 600 + 5}};
        try (NDManager manager = NDManager.newBaseManager()) {
            int seed = 0;
            for (int[] dims : shapes) {
                long[] shape = new long[dims.length];
                int n = 1;
                for (int i = 0; i < dims.length; i++) {
                    shape[i] = dims[i];
                    n *= dims[i];
                }
                for (QuantType type : QuantType.values()) {
                    for (boolean dq : new boolean[] {false, true}) {
                        for (int bs : new int[] {32, 64, 4096}) {
                            QuantizedTensor q =
                                    BlockwiseQuantizer.quantize(gaussian(n, seed++), shape, type, bs, dq);
                            float[] expected = BlockwiseDequantizer.dequantize(q);
                            try (NDManager sub = manager.newSubManager()) {
                                NDArray actual = NDArrayDequantizer.dequantize(q, sub);
                                String what = type + " dq=" + dq + " bs=" + bs + " n=" + n;
                                assertEquals(DataType.FLOAT32, actual.getDataType(), what);
                                assertArrayEquals(shape, actual.getShape().getShape(), what);
                                assertArrayEquals(expected, actual.toFloatArray(), what);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void largeTensorsAreDequantizedInChunksWithTheSameValues() {
        // more than CHUNK_ELEMENTS (2^20) elements, odd, ending in a partial block: two chunks at
        // block size 64 and at block size 4096 (the second one partial)
        long[] shape = {1025, 1031};
        int n = 1025 * 1031;
        assertTrue(n > NDArrayDequantizer.CHUNK_ELEMENTS);
        try (NDManager manager = NDManager.newBaseManager()) {
            int seed = 40;
            for (QuantType type : QuantType.values()) {
                for (int bs : new int[] {64, 4096}) {
                    QuantizedTensor q = BlockwiseQuantizer.quantize(gaussian(n, seed++), shape, type, bs, true);
                    try (NDManager sub = manager.newSubManager()) {
                        NDArray actual = NDArrayDequantizer.dequantize(q, sub);
                        assertArrayEquals(shape, actual.getShape().getShape());
                        assertArrayEquals(BlockwiseDequantizer.dequantize(q), actual.toFloatArray(),
                                type + " bs=" + bs);
                    }
                }
            }
        }
    }

    @Test
    void devicePiecesComposeAndLeaveNoIntermediates() {
        QuantizedTensor q =
                BlockwiseQuantizer.quantize(gaussian(1000, 5), new long[] {10, 100}, QuantType.NF4,
                        64, true);
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray packed = NDArrayDequantizer.packed(q, manager);
            NDArray absmax = NDArrayDequantizer.blockAbsmax(q.state(), manager);
            assertEquals(DataType.UINT8, packed.getDataType());
            assertArrayEquals(q.state().blockAbsmax(), absmax.toFloatArray());
            NDArray out = NDArrayDequantizer.dequantize(packed.reshape(500, 1), absmax, q.state(),
                    DataType.FLOAT32);
            assertArrayEquals(BlockwiseDequantizer.dequantize(q), out.toFloatArray());
            assertEquals(manager, out.getManager());
            // The inputs are still usable after the call (only temporarily attached).
            assertEquals(500, packed.size());
            assertEquals(16, absmax.size());
        }
    }

    @Test
    void castsToFloat16() {
        QuantizedTensor q =
                BlockwiseQuantizer.quantize(gaussian(130, 9), new long[] {130}, QuantType.FP4, 64,
                        true);
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray half = NDArrayDequantizer.dequantize(q, manager, DataType.FLOAT16);
            assertEquals(DataType.FLOAT16, half.getDataType());
            float[] expected =
                    manager.create(BlockwiseDequantizer.dequantize(q))
                            .toType(DataType.FLOAT16, false)
                            .toType(DataType.FLOAT32, false)
                            .toFloatArray();
            assertArrayEquals(expected, half.toType(DataType.FLOAT32, false).toFloatArray());
        }
    }

    @Test
    void rejectsBadArguments() {
        QuantizedTensor q =
                BlockwiseQuantizer.quantize(gaussian(128, 1), new long[] {128}, QuantType.NF4, 64,
                        false);
        try (NDManager manager = NDManager.newBaseManager()) {
            IllegalArgumentException type =
                    assertThrows(IllegalArgumentException.class,
                            () -> NDArrayDequantizer.dequantize(q, manager, DataType.INT32));
            assertTrue(type.getMessage().contains("INT32"), type.getMessage());
            NDArray packed = NDArrayDequantizer.packed(q, manager);
            NDArray wrongAbsmax = manager.create(new float[3]);
            IllegalArgumentException size =
                    assertThrows(IllegalArgumentException.class,
                            () -> NDArrayDequantizer.dequantize(packed, wrongAbsmax, q.state(),
                                    DataType.FLOAT32));
            assertTrue(size.getMessage().contains("absmax"), size.getMessage());
        }
    }
}
