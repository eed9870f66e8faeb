package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** BERT's gelu is the exact erf form; the tanh approximation differs by up to ~5e-4 around |x|≈2. */
class GeluTest {

    @Test
    void isTheExactErfGelu() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new double[] {-3, -2, -1, 0, 0.5, 1, 2, 3});
            double[] y = Gelu.apply(x).toDoubleArray();
            // x/2·(1 + erf(x/√2)) in float64 (Python's math.erf), independent of the implementation
            double[] expected = {
                -0.00404969409489031, -0.04550026389635842, -0.15865525393145707, 0.0,
                0.34573123063700656, 0.8413447460685429, 1.9544997361036416, 2.99595030590511
            };
            for (int i = 0; i < y.length; i++) {
                assertEquals(expected[i], y[i], 1e-12, "gelu(" + x.toDoubleArray()[i] + ")");
            }
        }
    }
}
