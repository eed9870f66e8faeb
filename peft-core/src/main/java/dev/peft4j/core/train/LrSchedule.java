package dev.peft4j.core.train;

/**
 * A learning-rate multiplier as a function of the number of optimizer steps already taken,
 * exactly as the {@code LambdaLR} lambdas of Hugging Face transformers. The update made as step
 * {@code t} (1-based) uses {@code baseLr · factor(t − 1)}, as in a loop that calls {@code
 * scheduler.step()} after {@code optimizer.step()}: with warmup the first update has learning rate
 * 0.
 *
 * @param type the schedule
 * @param warmupSteps linear warmup steps (ignored by {@link ScheduleType#CONSTANT}), not negative
 * @param totalSteps the run's total optimizer steps, positive
 */
public record LrSchedule(ScheduleType type, long warmupSteps, long totalSteps) {

    /** Checks the fields. */
    public LrSchedule {
        if (type == null) {
            throw new IllegalArgumentException("type must not be null");
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmupSteps must not be negative, got " + warmupSteps);
        }
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("totalSteps must be positive, got " + totalSteps);
        }
    }

    /**
     * @param currentStep optimizer steps already taken (the scheduler's {@code last_epoch})
     * @return the multiplier of the base learning rate
     */
    public double factor(long currentStep) {
        if (type == ScheduleType.CONSTANT) {
            return 1.0;
        }
        if (currentStep < warmupSteps) {
            return (double) currentStep / Math.max(1, warmupSteps);
        }
        return switch (type) {
            case CONSTANT_WITH_WARMUP -> 1.0;
            case LINEAR -> Math.max(0.0,
                    (double) (totalSteps - currentStep) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (currentStep - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
            default -> throw new IllegalStateException("unknown schedule " + type);
        };
    }

    /**
     * @param baseLr the configured learning rate
     * @param step the 1-based optimizer step about to be made
     * @return the learning rate of that update
     */
    public double learningRate(double baseLr, long step) {
        return baseLr * factor(step - 1);
    }
}
