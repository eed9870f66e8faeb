package dev.peft4j.core.train;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * Draws the training loss and evaluation metrics against the step as a PNG with XChart, headless.
 * Loss-like metrics share the left axis; others (accuracy, …) get a right axis. {@code
 * org.knowm.xchart:xchart} is optional in peft-core: asking for the curve without it fails naming
 * the artifact ({@link OptionalDependency}).
 */
final class TrainingCurve {

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** Steps averaged by the smoothed loss line, drawn once there are twice as many points. */
    static final int SMOOTHING = 25;

    private TrainingCurve() {}

    /**
     * Writes the chart atomically; does nothing when there is no point to draw.
     *
     * @param file the PNG file
     * @param losses (step, loss) pairs
     * @param evals metric → (step, value) pairs
     * @throws IOException when writing fails
     */
    static void write(Path file, List<double[]> losses, Map<String, List<double[]>> evals) throws IOException {
        OptionalDependency.TRAINING_CURVE.require();
        if (losses.isEmpty() && evals.isEmpty()) {
            return;
        }
        Chart.write(file, losses, evals);
    }

    /** The chart itself: the only code touching XChart's classes, loaded only when drawn. */
    private static final class Chart {

        private Chart() {}

        static void write(Path file, List<double[]> losses, Map<String, List<double[]>> evals) throws IOException {
            XYChart chart = new XYChartBuilder().width(900).height(500)
                    .title("training").xAxisTitle("step").yAxisTitle("loss").build();
            chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
            chart.getStyler().setXAxisTickMarkSpacingHint(120);
            chart.getStyler().setXAxisDecimalPattern("#");
            if (!losses.isEmpty()) {
                XYSeries s = chart.addSeries("loss", column(losses, 0), column(losses, 1));
                s.setMarker(SeriesMarkers.NONE);
                if (losses.size() >= 2 * SMOOTHING) {
                    s.setLineColor(new java.awt.Color(150, 180, 230));
                    s.setLineWidth(1f);
                    XYSeries avg = chart.addSeries("loss, mean of last " + SMOOTHING + " steps",
                            column(losses, 0), movingAverage(column(losses, 1)));
                    avg.setMarker(SeriesMarkers.NONE);
                    avg.setLineColor(new java.awt.Color(20, 60, 160));
                    avg.setLineWidth(2.5f);
                }
            }
            boolean rightAxis = false;
            for (Map.Entry<String, List<double[]>> e : evals.entrySet()) {
                if (e.getValue().isEmpty()) {
                    continue;
                }
                XYSeries s = chart.addSeries(e.getKey(), column(e.getValue(), 0), column(e.getValue(), 1));
                s.setMarker(SeriesMarkers.CIRCLE);
                if (!e.getKey().contains("loss")) {
                    s.setYAxisGroup(1);
                    rightAxis = true;
                }
            }
            if (rightAxis) {
                chart.setYAxisGroupTitle(1, "metric");
                chart.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
            }
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** Trailing mean over up to {@link #SMOOTHING} values (fewer at the start). */
    static double[] movingAverage(double[] v) {
        double[] out = new double[v.length];
        double sum = 0;
        for (int i = 0; i < v.length; i++) {
            sum += v[i];
            if (i >= SMOOTHING) {
                sum -= v[i - SMOOTHING];
            }
            out[i] = sum / Math.min(i + 1, SMOOTHING);
        }
        return out;
    }

    private static double[] column(List<double[]> rows, int i) {
        double[] out = new double[rows.size()];
        for (int r = 0; r < out.length; r++) {
            out[r] = rows.get(r)[i];
        }
        return out;
    }
}
