package dev.peft4j.examples.build;

import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Finds DJL scalar arithmetic in compiled classes: calls of {@code NDArray}'s {@code
 * add/sub/mul/div/pow/mod/maximum/minimum(Number)} and their in-place ({@code ...i}) forms, of
 * {@code NDArrays}' static ones in both operand orders ({@code NDArrays.sub(1, x)} is the reversed
 * {@code rsub}), and of the engine's {@code rsub/rdiv/rpow/rmod} ({@code NDArrayEx}). DJL wraps the {@code Number} in an array backed by a direct Java
 * buffer that the garbage collector may free while autograd still holds it (occasional NaN
 * gradients); {@code dev.peft4j.core.nn.Scalars} allocates the scalar in the engine instead.
 *
 * <p>Reads the bytecode with ASM, so it sees every call whatever the source looks like.
 */
final class ScalarArithmeticScanner {

    /** The DJL methods that take a {@code Number} operand. */
    static final Set<String> METHODS = Set.of(
            "add", "sub", "mul", "div", "pow", "mod", "maximum", "minimum",
            "addi", "subi", "muli", "divi", "powi", "modi",
            "rsub", "rdiv", "rpow", "rmod", "rsubi", "rdivi", "rpowi", "rmodi");

    private ScalarArithmeticScanner() {}

    /**
     * @param root a classes folder or a jar
     * @return one {@code Class#method calls NDArray.div(Number)} line per offending call site,
     *     sorted, without duplicates
     * @throws IOException when the folder or jar cannot be read
     */
    static Set<String> scan(Path root) throws IOException {
        Set<String> found = new TreeSet<>();
        if (Files.isDirectory(root)) {
            List<Path> classes = new ArrayList<>();
            try (Stream<Path> files = Files.walk(root)) {
                files.filter(p -> p.toString().endsWith(".class")).forEach(classes::add);
            }
            for (Path p : classes) {
                found.addAll(scanClass(Files.readAllBytes(p)));
            }
        } else {
            try (JarFile jar = new JarFile(root.toFile())) {
                for (JarEntry e : jar.stream().toList()) {
                    if (e.getName().endsWith(".class")) {
                        try (InputStream in = jar.getInputStream(e)) {
                            found.addAll(scanClass(in.readAllBytes()));
                        }
                    }
                }
            }
        }
        return found;
    }

    /**
     * @param classFile the bytes of one class file
     * @return the offending calls in it, as {@link #scan} names them
     */
    static Set<String> scanClass(byte[] classFile) {
        Set<String> found = new TreeSet<>();
        ClassReader reader = new ClassReader(classFile);
        String owner = reader.getClassName().replace('/', '.');
        reader.accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] ex) {
                return new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public void visitMethodInsn(int op, String callee, String method, String mdesc, boolean itf) {
                        if (isScalarArithmetic(callee, method, mdesc)) {
                            found.add(owner + "#" + name + " calls " + callee.substring(callee.lastIndexOf('/') + 1)
                                    + "." + method + "(Number)");
                        }
                    }
                };
            }
        }, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
        return found;
    }

    private static boolean isScalarArithmetic(String owner, String method, String desc) {
        return owner.startsWith("ai/djl/")
                && (owner.endsWith("NDArray") || owner.endsWith("/NDArrays") || owner.endsWith("NDArrayEx"))
                && METHODS.contains(method)
                && desc.contains("Ljava/lang/Number;");
    }

    /**
     * @param root a classes folder or jar
     * @return {@link #scan}, with I/O errors unchecked
     */
    static Set<String> scanUnchecked(Path root) {
        try {
            return scan(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
