package dev.peft4j.core.train;

/** The learning-rate schedules of Hugging Face transformers' {@code get_scheduler}. */
public enum ScheduleType {
    /** {@code get_constant_schedule}: factor 1. */
    CONSTANT,
    /** {@code get_constant_schedule_with_warmup}: linear warmup, then 1. */
    CONSTANT_WITH_WARMUP,
    /** {@code get_linear_schedule_with_warmup}: linear warmup, then linear decay to 0. */
    LINEAR,
    /** {@code get_cosine_schedule_with_warmup} (half a cycle): linear warmup, then cosine to 0. */
    COSINE
}
