package dev.peft4j.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** A missing fixture skips a test on a developer's machine and fails it under CI=true. */
class FixturesTest {

    @Test
    void missingSkipsOutsideCi() {
        TestAbortedException e = assertThrows(TestAbortedException.class,
                () -> Fixtures.require(false, "fixture not found: /x/shared/fixtures/y", false));
        assertEquals("fixture not found: /x/shared/fixtures/y", e.getMessage());
    }

    @Test
    void missingFailsUnderCi() {
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> Fixtures.require(false, "fixture not found: /x/shared/fixtures/y", true));
        assertEquals("fixture not found: /x/shared/fixtures/y (CI=true: missing fixtures fail the build instead"
                + " of skipping)", e.getMessage());
    }

    @Test
    void presentPasses() {
        Fixtures.require(true, "unused", true);
        Fixtures.require(true, "unused", false);
    }
}
