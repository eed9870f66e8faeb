package dev.peft4j.examples.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The rows of {@code peft4j bench}: each a measurement repeated several times, shown as median,
 * min and max in its unit (throughputs: higher is better; times: lower is better).
 */
final class BenchTable {

    /** A timed operation. */
    interface Op {
        void run() throws Exception;
    }

    private record Row(String name, String unit, double[] values) {}

    private final List<Row> rows = new ArrayList<>();
    private final int runs;
    private final int warmups;

    /**
     * @param runs timed runs per row
     * @param warmups untimed runs before them
     */
    BenchTable(int runs, int warmups) {
        this.runs = runs;
        this.warmups = warmups;
    }

    /** Times {@code op}; the row shows {@code work / seconds} in {@code unit} (e.g. GFLOP/s). */
    void throughput(String name, String unit, double work, Op op) throws Exception {
        double[] s = seconds(op);
        double[] v = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            v[i] = work / s[i];
        }
        rows.add(new Row(name, unit, v));
    }

    /** Times {@code op}; the row shows milliseconds. */
    void millis(String name, Op op) throws Exception {
        double[] s = seconds(op);
        for (int i = 0; i < s.length; i++) {
            s[i] *= 1e3;
        }
        rows.add(new Row(name, "ms", s));
    }

    /** Adds already measured values (e.g. a ratio). */
    void values(String name, String unit, double[] values) {
        rows.add(new Row(name, unit, values.clone()));
    }

    /** Seconds of each timed run of {@code op}. */
    double[] seconds(Op op) throws Exception {
        for (int i = 0; i < warmups; i++) {
            op.run();
        }
        double[] s = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            op.run();
            s[i] = (System.nanoTime() - t0) / 1e9;
        }
        return s;
    }

    /**
     * Times several operations in turns (run 1 of each, then run 2 of each, ...), after the
     * warm-up runs of each, so that all see the same machine state: on a shared machine whose
     * speed drifts, comparing operations timed one after the other measures the drift.
     *
     * @param ops the operations
     * @return seconds, {@code [op][run]}
     * @throws Exception what an operation throws
     */
    double[][] secondsInTurns(List<Op> ops) throws Exception {
        for (Op op : ops) {
            for (int i = 0; i < warmups; i++) {
                op.run();
            }
        }
        double[][] s = new double[ops.size()][runs];
        for (int i = 0; i < runs; i++) {
            for (int k = 0; k < ops.size(); k++) {
                long t0 = System.nanoTime();
                ops.get(k).run();
                s[k][i] = (System.nanoTime() - t0) / 1e9;
            }
        }
        return s;
    }

    /**
     * @param a times of one operation
     * @param b times of another, taken in turns with {@code a}
     * @return {@code a[i] / b[i]} for each run
     */
    static double[] ratios(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return r;
    }

    /**
     * @param unit a unit, e.g. {@code GFLOP/s}
     * @return the highest median among the rows in that unit (0 when there are none)
     */
    double bestMedian(String unit) {
        return rows.stream().filter(r -> r.unit().equals(unit)).mapToDouble(r -> median(r.values())).max().orElse(0);
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** Prints the table. */
    void print(PrintWriter out) {
        out.printf(Locale.ROOT, "%-50s %-8s %10s %10s %10s %5s%n", "benchmark", "unit", "median", "min", "max",
                "runs");
        for (Row r : rows) {
            double[] s = r.values().clone();
            Arrays.sort(s);
            out.printf(Locale.ROOT, "%-50s %-8s %10s %10s %10s %5d%n", r.name(), r.unit(), fmt(median(s)),
                    fmt(s[0]), fmt(s[s.length - 1]), s.length);
        }
        out.flush();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.1f" : Math.abs(v) >= 1 ? "%.2f" : "%.4f", v);
    }
}
