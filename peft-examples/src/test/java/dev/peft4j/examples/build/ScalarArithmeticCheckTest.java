package dev.peft4j.examples.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Build check: no {@code src/main} code of any peft4j module calls DJL's scalar arithmetic ({@code
 * NDArray.add/sub/mul/div/pow(Number)}, their in-place and reversed forms; see {@link
 * ScalarArithmeticScanner}) — code that runs
 * before a backward pass must use {@code dev.peft4j.core.nn.Scalars} (see README, Platform notes).
 * Reads the compiled classes of every module on this test's class path (peft-examples depends on
 * all of them). Code that provably never feeds a backward pass is listed in {@link #ALLOWED}, each
 * entry with its reason; an entry that no longer matches anything fails too, so the list stays
 * exact.
 */
class ScalarArithmeticCheckTest {

    /** Module jars or classes folders of peft4j's main code on the class path. */
    private static final Pattern MAIN_CODE =
            Pattern.compile(".*/(peft-(core|quant|lora|tuners|minilm|examples|spark)[^/]*/target/classes"
                    + "|peft-(core|quant|lora|tuners|minilm|examples|spark)(-[^/]*)?(?<!-tests)\\.jar)");

    /** The modules whose main code must be found, so that the check cannot pass by scanning nothing. */
    private static final List<String> MODULES =
            List.of("peft-core", "peft-quant", "peft-lora", "peft-tuners", "peft-minilm", "peft-examples",
                    "peft-spark");

    /** Call sites allowed to use DJL scalar arithmetic: never before a backward pass. Site → reason. */
    static final Map<String, String> ALLOWED = Map.ofEntries(
            Map.entry("dev.peft4j.core.model.bert.BertModel#additiveMask calls NDArray.mul(Number)",
                    "operates on the attention mask built from input ids: no operand requires a gradient, autograd records nothing"),
            Map.entry("dev.peft4j.core.model.bert.BertModel#additiveMask calls NDArray.sub(Number)",
                    "operates on the attention mask built from input ids: no operand requires a gradient, autograd records nothing"),
            Map.entry("dev.peft4j.core.model.bert.BertInference#embed calls NDArray.maximum(Number)",
                    "inference only (embed runs without a GradientCollector): floors the norm of finished embeddings"),
            Map.entry("dev.peft4j.core.model.bert.MeanPooling#apply calls NDArray.maximum(Number)",
                    "clamps the token count taken from the attention mask: no gradient flows through it"),
            Map.entry("dev.peft4j.core.model.llama.CausalMask#additive calls NDArray.mul(Number)",
                    "operates on the attention mask built from input ids: no operand requires a gradient, autograd records nothing"),
            Map.entry("dev.peft4j.core.model.llama.CausalMask#additive calls NDArray.sub(Number)",
                    "operates on the attention mask built from input ids: no operand requires a gradient, autograd records nothing"),
            Map.entry("dev.peft4j.core.model.llama.CausalMask#positionIds calls NDArray.add(Number)",
                    "position ids counted from the attention mask (integers): no gradient"),
            Map.entry("dev.peft4j.core.model.llama.CausalMask#positionIds calls NDArray.sub(Number)",
                    "position ids counted from the attention mask (integers): no gradient"),
            Map.entry("dev.peft4j.core.train.AdamW#update calls NDArray.addi(Number)",
                    "after backward, outside any GradientCollector: updates parameters in place, autograd records nothing"),
            Map.entry("dev.peft4j.core.train.AdamW#update calls NDArray.divi(Number)",
                    "after backward, outside any GradientCollector: updates parameters in place, autograd records nothing"),
            Map.entry("dev.peft4j.core.train.AdamW#update calls NDArray.mul(Number)",
                    "after backward, outside any GradientCollector: updates parameters in place, autograd records nothing"),
            Map.entry("dev.peft4j.core.train.AdamW#update calls NDArray.muli(Number)",
                    "after backward, outside any GradientCollector: updates parameters in place, autograd records nothing"),
            Map.entry("dev.peft4j.core.train.GradientClipping#clip calls NDArray.muli(Number)",
                    "scales the gradients after backward, outside any GradientCollector"),
            Map.entry("dev.peft4j.core.train.Sgd#update calls NDArray.mul(Number)",
                    "after backward, outside any GradientCollector: updates parameters in place, autograd records nothing"),
            Map.entry("dev.peft4j.core.train.Sgd#update calls NDArray.muli(Number)",
                    "after backward, outside any GradientCollector: updates parameters in place, autograd records nothing"),
            Map.entry("dev.peft4j.examples.cli.BenchCommand#linear calls NDArray.mul(Number)",
                    "initial random weights of a benchmark layer, before any GradientCollector"),
            Map.entry("dev.peft4j.examples.cli.EmbedCommand#run calls NDArray.maximum(Number)",
                    "inference only: normalizes embeddings for printing"),
            Map.entry("dev.peft4j.lora.LoraLinear#rawDelta calls NDArray.mul(Number)",
                    "on detached copies of lora_A and lora_B (merge, DoRA's detached row norm): no gradient"),
            Map.entry("dev.peft4j.lora.WeightedAdapters#combine calls NDArray.mul(Number)",
                    "builds a new adapter's weights from detached values (add_weighted_adapter), no training"));

    @Test
    void noScalarArithmeticInMainCode() {
        List<Path> roots = mainCodeRoots();
        for (String module : MODULES) {
            assertTrue(roots.stream().anyMatch(r -> r.toString().contains("/" + module)),
                    "main code of " + module + " not found on the class path: " + roots);
        }
        Set<String> found = new TreeSet<>();
        for (Path root : roots) {
            found.addAll(ScalarArithmeticScanner.scanUnchecked(root));
        }
        Set<String> forbidden = new TreeSet<>(found);
        forbidden.removeAll(ALLOWED.keySet());
        if (!forbidden.isEmpty()) {
            fail("DJL scalar arithmetic in main code (use dev.peft4j.core.nn.Scalars, or add the call site to"
                    + " ScalarArithmeticCheckTest.ALLOWED with the reason it never feeds a backward pass):\n  "
                    + String.join("\n  ", forbidden));
        }
        Set<String> stale = new TreeSet<>(ALLOWED.keySet());
        stale.removeAll(found);
        assertEquals(Set.of(), stale, "allowlist entries that match no call any more: remove them");
    }

    @Test
    void findsAPlantedViolation() throws IOException {
        Set<String> found = ScalarArithmeticScanner.scanClass(classBytes(Planted.class));
        assertEquals(new TreeSet<>(List.of(
                        Planted.class.getName() + "#halve calls NDArray.div(Number)",
                        Planted.class.getName() + "#shift calls NDArrays.sub(Number)")),
                found);
    }

    @Test
    void scalarsStyleArithmeticPasses() throws IOException {
        assertEquals(Set.of(), ScalarArithmeticScanner.scanClass(classBytes(Clean.class)));
    }

    private static List<Path> mainCodeRoots() {
        List<Path> roots = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String normalized = entry.replace(File.separatorChar, '/');
            if (MAIN_CODE.matcher(normalized).matches()) {
                roots.add(Path.of(entry));
            }
        }
        return roots;
    }

    private static byte[] classBytes(Class<?> c) throws IOException {
        try (InputStream in = c.getResourceAsStream(c.getName().substring(c.getPackageName().length() + 1) + ".class")) {
            return in.readAllBytes();
        }
    }

    /** A planted violation: the scanner must report both calls. */
    static final class Planted {
        static NDArray halve(NDArray x) {
            return x.div(2);
        }

        static NDArray shift(NDArray x) {
            return NDArrays.sub(1f, x); // the reversed form, x.getNDArrayInternal().rsub(1f)
        }
    }

    /** Array-by-array arithmetic, as Scalars does it: not reported. */
    static final class Clean {
        static NDArray halve(NDArray x, NDArray two) {
            return x.div(two);
        }
    }
}
