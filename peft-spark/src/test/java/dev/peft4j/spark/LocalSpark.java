package dev.peft4j.spark;

import org.apache.spark.sql.SparkSession;

/** Local Spark sessions for tests: {@code local[2]}, no UI, barrier sync timeout 30 s. */
final class LocalSpark {

    private LocalSpark() {}

    /**
     * @param master e.g. {@code local[2]} (one attempt per task) or {@code local[2,2]} (a failed
     *     barrier stage is retried)
     * @param stageAttempts {@code spark.stage.maxConsecutiveAttempts}
     * @return a new session (stop it after the class)
     */
    static SparkSession start(String master, int stageAttempts) {
        return start(master, stageAttempts, 30);
    }

    /**
     * @param master the master
     * @param stageAttempts {@code spark.stage.maxConsecutiveAttempts}
     * @param syncTimeoutSeconds {@code spark.barrier.sync.timeout}
     * @return a new session (stop it after the class)
     */
    static SparkSession start(String master, int stageAttempts, int syncTimeoutSeconds) {
        return SparkSession.builder().master(master).appName("peft-spark-test")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.barrier.sync.timeout", Integer.toString(syncTimeoutSeconds))
                .config("spark.stage.maxConsecutiveAttempts", Integer.toString(stageAttempts))
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .getOrCreate();
    }
}
