package dev.peft4j.core.train;

/**
 * A check that an optional jar of peft-core (declared {@code <optional>true</optional>}, so that
 * library users do not get it) is on the classpath before a feature that needs it runs: the
 * progress bar ({@code me.tongfei:progressbar}) and the PNG training curve ({@code
 * org.knowm.xchart:xchart}). Without the jar the feature fails at once with a message naming the
 * Maven artifact, instead of a {@link NoClassDefFoundError} somewhere inside it.
 */
final class OptionalDependency {

    /** The progress bar's jar. */
    static final OptionalDependency PROGRESS_BAR =
            new OptionalDependency(
                    "the console progress bar (TrainingConfig.optProgressBar)",
                    "me.tongfei.progressbar.ProgressBar",
                    "me.tongfei:progressbar:0.10.2");

    /** The training curve's jar. */
    static final OptionalDependency TRAINING_CURVE =
            new OptionalDependency(
                    "the PNG training curve (TrainingConfig.optTrainingCurve)",
                    "org.knowm.xchart.XYChart",
                    "org.knowm.xchart:xchart:3.8.8");

    private final String feature;
    private final String className;
    private final String artifact;

    OptionalDependency(String feature, String className, String artifact) {
        this.feature = feature;
        this.className = className;
        this.artifact = artifact;
    }

    /**
     * @throws IllegalStateException naming the feature and the Maven artifact when the jar is
     *     missing
     */
    void require() {
        try {
            Class.forName(className, false, OptionalDependency.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException(
                    feature
                            + " needs "
                            + artifact
                            + " on the classpath (an optional dependency of peft-core): add it"
                            + " to your build, or turn the feature off",
                    e);
        }
    }
}
