/** Input validation tests of the public peft-core entry points. */
package dev.peft4j.core.validation;
