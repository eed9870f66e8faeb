package dev.peft4j.core.train;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.time.Duration;

/**
 * The console progress bar (step/total, loss, lr, throughput, ETA) drawn with {@code
 * me.tongfei:progressbar}; silent when disabled or when the JVM has no console (output redirected,
 * tests, CI). {@code me.tongfei:progressbar} is optional in peft-core: asking for the bar without
 * it fails naming the artifact ({@link OptionalDependency}).
 */
interface ProgressReporter extends AutoCloseable {

    /**
     * @param step the step just completed
     * @param message loss, lr, throughput
     */
    void step(long step, String message);

    @Override
    void close();

    /**
     * @param enabled whether the configuration asks for a bar
     * @param initial steps already done (resume)
     * @param total total steps
     * @param elapsed time already spent (resume)
     * @return a console bar, or a silent reporter
     */
    static ProgressReporter create(boolean enabled, long initial, long total, Duration elapsed) {
        if (enabled) {
            OptionalDependency.PROGRESS_BAR.require();
        }
        if (!enabled || System.console() == null) {
            return new ProgressReporter() {
                @Override
                public void step(long step, String message) {}

                @Override
                public void close() {}
            };
        }
        return ConsoleBar.create(initial, total, elapsed);
    }

    /** The bar itself: the only code touching progressbar's classes, loaded only when drawn. */
    final class ConsoleBar {

        private ConsoleBar() {}

        static ProgressReporter create(long initial, long total, Duration elapsed) {
            ProgressBar bar = new ProgressBarBuilder()
                    .setTaskName("train")
                    .setInitialMax(total)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(250)
                    .startsFrom(initial, elapsed)
                    .build();
            return new ProgressReporter() {
                @Override
                public void step(long step, String message) {
                    bar.stepTo(step);
                    bar.setExtraMessage(message);
                }

                @Override
                public void close() {
                    bar.close();
                }
            };
        }
    }
}
