package dev.peft4j.lora.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;

import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraConfigJson;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.quant.BlockwiseQuantizer;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The public entry points of peft-lora and peft-quant reject null, empty and out-of-range
 * arguments with the exception and message listed in {@code docs/reliability.md}.
 */
class LoraInputValidationTest {

    static final Path MISSING = Path.of("/nonexistent/peft4j");
    static NDManager m;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    /** One 4→4 linear layer named {@code proj}. */
    static final class Net extends Module {
        Net() {
            registerModule("proj", new Linear(4, 4, false));
        }

        @Override
        protected ai.djl.ndarray.NDList forwardInternal(ai.djl.training.ParameterStore ps, ai.djl.ndarray.NDList in,
                boolean training, ai.djl.util.PairList<String, Object> p) {
            return in;
        }
    }

    static Net net() {
        Net n = new Net();
        dev.peft4j.core.nn.Params.assign(n.namedParameters().get("proj.weight"), m.ones(new ai.djl.ndarray.types.Shape(4, 4)));
        return n;
    }

    static LoraConfig cfg() {
        return LoraConfig.builder().setTargetModules("proj").build();
    }

    static PeftModel peft() {
        return PeftModel.wrap(net(), cfg(), m);
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                c("PeftModel.wrap(null base)", NullPointerException.class, "base", () -> PeftModel.wrap(null, cfg(), m)),
                c("PeftModel.wrap(null config)", NullPointerException.class, "config", () -> PeftModel.wrap(net(), null, m)),
                c("PeftModel.wrap(null manager)", NullPointerException.class, "manager", () -> PeftModel.wrap(net(), cfg(), null)),
                c("PeftModel.wrap(no match)", IllegalArgumentException.class, "target_modules [nope] matched no module of Net; it has 1 linear modules, e.g. proj", () -> PeftModel.wrap(net(), LoraConfig.builder().setTargetModules("nope").build(), m)),
                c("PeftModel.load(missing)", java.io.UncheckedIOException.class, "cannot read /nonexistent/peft4j/adapter_config.json", () -> PeftModel.load(net(), MISSING, m)),
                c("PeftModel.load(null dir)", NullPointerException.class, "dir", () -> PeftModel.load(net(), null, m)),
                c("PeftModel.setAdapter(unknown)", IllegalArgumentException.class, "no adapter 'nope' (adapters: [default])", () -> peft().setAdapter("nope")),
                c("PeftModel.setAdapter(null)", IllegalArgumentException.class, "no adapter 'null' (adapters: [default])", () -> peft().setAdapter(null)),
                c("PeftModel.addAdapter(bad name)", IllegalArgumentException.class, "invalid adapter name 'a b': use letters, digits and _", () -> peft().addAdapter("a b", cfg())),
                c("PeftModel.addAdapter(duplicate)", IllegalArgumentException.class, "adapter 'default' already exists", () -> peft().addAdapter("default", cfg())),
                c("PeftModel.addAdapter(null config)", NullPointerException.class, "config", () -> peft().addAdapter("x", null)),
                c("PeftModel.deleteAdapter(unknown)", IllegalArgumentException.class, "no adapter 'nope' (adapters: [default])", () -> peft().deleteAdapter("nope")),
                c("PeftModel.save(null)", NullPointerException.class, "dir", () -> peft().save(null)),
                c("PeftModel.loadAdapter(missing)", java.io.UncheckedIOException.class, "cannot read /nonexistent/peft4j/adapter_config.json", () -> peft().loadAdapter(MISSING, "x", false)),
                c("PeftModel.config(unknown)", IllegalArgumentException.class, "no adapter 'nope' (adapters: [default])", () -> peft().config("nope")),
                c("LoraConfig no targets", IllegalArgumentException.class, "target_modules is required (peft4j has no per-architecture default)", () -> LoraConfig.builder().build()),
                c("LoraConfig r 0", IllegalArgumentException.class, "r must be positive, got 0", () -> LoraConfig.builder().setTargetModules("q").optR(0).build()),
                c("LoraConfig alpha NaN", IllegalArgumentException.class, "lora_alpha must be finite, got NaN", () -> LoraConfig.builder().setTargetModules("q").optLoraAlpha(Double.NaN).build()),
                c("LoraConfig dropout 1", IllegalArgumentException.class, "lora_dropout must be in [0, 1), got 1.0", () -> LoraConfig.builder().setTargetModules("q").optLoraDropout(1.0).build()),
                c("LoraConfig targets null", NullPointerException.class, "names", () -> LoraConfig.builder().setTargetModules((String[]) null).build()),
                c("LoraConfig targets empty", IllegalArgumentException.class, "the list of module names is empty", () -> LoraConfig.builder().setTargetModules(new String[0]).build()),
                c("LoraConfigJson.read(null)", NullPointerException.class, "path", () -> LoraConfigJson.read(null)),
                c("LoraConfigJson.read(missing)", java.io.FileNotFoundException.class, "/nonexistent/peft4j (No such file or directory)", () -> LoraConfigJson.read(MISSING)),
                c("LoraConfigJson.parse(null)", NullPointerException.class, "json", () -> LoraConfigJson.parse(null)),
                c("LoraConfigJson.parse(empty)", IllegalArgumentException.class, "an adapter config must be a JSON object", () -> LoraConfigJson.parse("")),
                c("BlockwiseQuantizer no type", IllegalArgumentException.class, "quant type is required", () -> BlockwiseQuantizer.builder().build()),
                c("BlockwiseQuantizer blocksize 0", IllegalArgumentException.class, "blocksize must be one of 32, 64, 128, 256, 512, 1024, 2048, 4096, got 0", () -> BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).optBlocksize(0).build()),
                c("BlockwiseQuantizer blocksize 3", IllegalArgumentException.class, "blocksize must be one of 32, 64, 128, 256, 512, 1024, 2048, 4096, got 3", () -> BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).optBlocksize(3).build()),
                c("BlockwiseQuantizer.quantize(null)", NullPointerException.class, "values", () -> BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).build().quantize(null, 2, 2)),
                c("BlockwiseQuantizer.quantize(shape mismatch)", IllegalArgumentException.class, "shape [2, 2] holds 4 values, got 3", () -> BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).build().quantize(new float[3], 2, 2)),
                c("QuantizationConfig no type", IllegalArgumentException.class, "QuantizationConfig: quantType is required (setQuantType)", () -> QuantizationConfig.builder().build()),
                c("QuantizationConfig blocksize 0", IllegalArgumentException.class, "QuantizationConfig: blocksize must be one of 32, 64, 128, 256, 512, 1024, 2048, 4096, got 0", () -> QuantizationConfig.builder().setQuantType(QuantType.NF4).optBlocksize(0).build()),
                c("QuantizationConfig skip null", NullPointerException.class, "QuantizationConfig: skipModules is null", () -> QuantizationConfig.builder().setQuantType(QuantType.NF4).optSkipModules(null).build()));
    }

    static Arguments c(String name, Class<? extends Throwable> type, String message, Executable call) {
        return Arguments.of(name, type, message, call);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rejectsWithAClearMessage(String name, Class<? extends Throwable> type, String message, Executable call) {
        Throwable e = assertThrows(type, call, name);
        assertEquals(type, e.getClass(), name);
        assertEquals(message, e.getMessage(), name);
    }
}
