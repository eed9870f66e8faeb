package dev.peft4j.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

/**
 * Seeded mutations of bytes and JSON for fuzz tests: bit flips, overwritten bytes, truncation,
 * insertion and deletion; JSON values replaced by interesting ones (huge, negative, wrong type,
 * deeply nested), fields removed or duplicated, and textual damage (stray brackets, duplicate keys,
 * NaN, comments, control characters). Every method is deterministic for a given seed.
 */
public final class Mutator {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Integers that tend to break size arithmetic. */
    public static final long[] INTERESTING_LONGS = {
        0, 1, -1, 2, 3, 7, 8, 255, 256, 65_535, 65_536, Integer.MAX_VALUE, 1L << 31, 1L << 32,
        1L << 40, 1L << 53, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, Integer.MIN_VALUE, -8
    };

    private final Random random;

    /**
     * @param seed the seed; the same seed gives the same mutations
     */
    public Mutator(long seed) {
        this.random = new Random(seed);
    }

    /** @return the underlying random source */
    public Random random() {
        return random;
    }

    /**
     * @param bound exclusive upper bound, positive
     * @return a uniform int in [0, bound)
     */
    public int nextInt(int bound) {
        return random.nextInt(bound);
    }

    /** @return one of {@link #INTERESTING_LONGS} */
    public long interestingLong() {
        return INTERESTING_LONGS[random.nextInt(INTERESTING_LONGS.length)];
    }

    /**
     * Flips 1 to 4 random bits in {@code [from, to)}.
     *
     * @param in the input (not changed)
     * @param from first byte that may change
     * @param to one past the last byte that may change
     * @return the mutated copy
     */
    public byte[] flipBits(byte[] in, int from, int to) {
        byte[] out = in.clone();
        if (to <= from) {
            return out;
        }
        int flips = 1 + random.nextInt(4);
        for (int i = 0; i < flips; i++) {
            int at = from + random.nextInt(to - from);
            out[at] ^= (byte) (1 << random.nextInt(8));
        }
        return out;
    }

    /**
     * Overwrites 1 to 3 bytes in {@code [from, to)} with random or boundary values.
     *
     * @param in the input (not changed)
     * @param from first byte that may change
     * @param to one past the last byte that may change
     * @return the mutated copy
     */
    public byte[] overwriteBytes(byte[] in, int from, int to) {
        byte[] out = in.clone();
        if (to <= from) {
            return out;
        }
        int n = 1 + random.nextInt(3);
        byte[] special = {0, (byte) 0xff, (byte) 0x7f, (byte) 0x80, 1};
        for (int i = 0; i < n; i++) {
            int at = from + random.nextInt(to - from);
            out[at] =
                    random.nextBoolean()
                            ? special[random.nextInt(special.length)]
                            : (byte) random.nextInt(256);
        }
        return out;
    }

    /**
     * @param in the input
     * @return a random proper prefix of it (possibly empty)
     */
    public byte[] truncate(byte[] in) {
        return Arrays.copyOf(in, in.length == 0 ? 0 : random.nextInt(in.length));
    }

    /**
     * Inserts, deletes or duplicates a short run of bytes at a random position.
     *
     * @param in the input
     * @return the mutated copy (another length)
     */
    public byte[] splice(byte[] in) {
        int at = in.length == 0 ? 0 : random.nextInt(in.length + 1);
        int n = 1 + random.nextInt(16);
        byte[] insert = new byte[n];
        switch (random.nextInt(3)) {
            case 0: // delete
                int end = Math.min(in.length, at + n);
                byte[] out = new byte[in.length - (end - at)];
                System.arraycopy(in, 0, out, 0, at);
                System.arraycopy(in, end, out, at, in.length - end);
                return out;
            case 1: // duplicate what follows
                for (int i = 0; i < n; i++) {
                    insert[i] = in.length == 0 ? 0 : in[(at + i) % in.length];
                }
                break;
            default: // random bytes
                random.nextBytes(insert);
        }
        byte[] out = new byte[in.length + n];
        System.arraycopy(in, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, n);
        System.arraycopy(in, at, out, at + n, in.length - at);
        return out;
    }

    /**
     * Damages JSON text: stray structural characters, deleted characters, a duplicated key,
     * deep nesting, NaN, comments, a byte-order mark, control characters, unpaired surrogates.
     *
     * @param json the text
     * @return the damaged text
     */
    public String damageJsonText(String json) {
        int at = json.isEmpty() ? 0 : random.nextInt(json.length() + 1);
        String head = json.substring(0, at);
        String tail = json.substring(at);
        switch (random.nextInt(10)) {
            case 0:
                String[] stray = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\u0000", "\uD800"};
                return head + stray[random.nextInt(stray.length)] + tail;
            case 1:
                return tail.isEmpty() ? head : head + tail.substring(1);
            case 2:
                return duplicateFirstKey(json);
            case 3:
                int depth = 1 + random.nextInt(5000);
                return head + "[".repeat(depth) + "]".repeat(depth) + tail;
            case 4:
                return head + (random.nextBoolean() ? "NaN" : "-Infinity") + tail;
            case 5:
                return head + (random.nextBoolean() ? "/* c */" : "// c\n") + tail;
            case 6:
                return "\uFEFF" + json;
            case 7:
                return head + "\u0001" + tail;
            case 8:
                return head + ",\"x\":" + tail;
            default:
                return json + (random.nextBoolean() ? " {}" : ",");
        }
    }

    /** Repeats the first {@code "key": value} member of the top-level object textually. */
    private static String duplicateFirstKey(String json) {
        int open = json.indexOf('{');
        int quote = json.indexOf('"', open + 1);
        int colon = quote < 0 ? -1 : json.indexOf(':', quote);
        if (open < 0 || quote < 0 || colon < 0) {
            return json + json;
        }
        String key = json.substring(quote, colon);
        return json.substring(0, open + 1) + key + ":0," + json.substring(open + 1);
    }

    /**
     * Replaces, removes or adds one value somewhere in a JSON tree (in place).
     *
     * @param root an object or array; changed in place
     * @return a short description of the mutation
     */
    public String mutateTree(JsonNode root) {
        List<JsonNode> containers = new ArrayList<>();
        collectContainers(root, containers);
        JsonNode target = containers.get(random.nextInt(containers.size()));
        if (target instanceof ObjectNode obj) {
            List<String> keys = new ArrayList<>();
            obj.fieldNames().forEachRemaining(keys::add);
            int choice = random.nextInt(10);
            if (keys.isEmpty() || choice == 0) {
                String key = random.nextBoolean() ? "extra" : "";
                obj.set(key, interestingValue(null));
                return "add field '" + key + "'";
            }
            String key = keys.get(random.nextInt(keys.size()));
            if (choice == 1) {
                obj.remove(key);
                return "remove '" + key + "'";
            }
            obj.set(key, interestingValue(obj.get(key)));
            return "replace '" + key + "'";
        }
        ArrayNode arr = (ArrayNode) target;
        int choice = random.nextInt(8);
        if (arr.isEmpty() || choice == 0) {
            arr.add(interestingValue(null));
            return "append to array";
        }
        int i = random.nextInt(arr.size());
        if (choice == 1) {
            arr.remove(i);
            return "remove array element " + i;
        }
        arr.set(i, interestingValue(arr.get(i)));
        return "replace array element " + i;
    }

    private static void collectContainers(JsonNode node, List<JsonNode> out) {
        if (node.isContainerNode()) {
            out.add(node);
            for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
                collectContainers(it.next(), out);
            }
        }
    }

    /**
     * A value that tends to break readers: near the old value, a boundary integer, a huge
     * integer, a fraction, the wrong type, or a deep array.
     *
     * @param old the value replaced, or null
     * @return the replacement
     */
    public JsonNode interestingValue(JsonNode old) {
        int choice = random.nextInt(12);
        if (old != null && old.isIntegralNumber() && old.canConvertToLong() && choice < 4) {
            return NODES.numberNode(old.longValue() + random.nextInt(5) - 2);
        }
        switch (choice) {
            case 0:
            case 1:
            case 2:
                return NODES.numberNode(interestingLong());
            case 3:
                return NODES.numberNode(BigInteger.ONE.shiftLeft(64 + random.nextInt(64)));
            case 4:
                return NODES.numberNode(random.nextBoolean() ? 1.5 : 1e308);
            case 5:
                return NODES.nullNode();
            case 6:
                return NODES.textNode(random.nextBoolean() ? "" : "x".repeat(random.nextInt(300)));
            case 7:
                return NODES.booleanNode(random.nextBoolean());
            case 8:
                ArrayNode deep = NODES.arrayNode();
                ArrayNode cur = deep;
                for (int i = random.nextInt(50); i > 0; i--) {
                    cur = cur.addArray();
                }
                return deep;
            case 9:
                return NODES.objectNode();
            case 10:
                ArrayNode many = NODES.arrayNode();
                for (int i = random.nextInt(70); i > 0; i--) {
                    many.add(random.nextInt(3));
                }
                return many;
            default:
                return NODES.textNode("F32");
        }
    }

    /**
     * A mutated JSON document and what was done to it.
     *
     * @param what a description for failure messages
     * @param bytes the damaged document
     */
    public record Mutant(String what, byte[] bytes) {}

    /**
     * Damages a JSON document in one of four ways chosen by {@code variant}: 0 and 1 mutate its
     * tree 1–3 times, 2 damages its text, 3 truncates it or flips bits (chosen at random).
     *
     * @param json a valid JSON document
     * @param variant 0..3
     * @param mapper writes the mutated tree
     * @return the damaged document
     * @throws IOException when {@code json} is not valid JSON
     */
    public Mutant mutateJson(String json, int variant, ObjectMapper mapper)
            throws IOException {
        switch (variant) {
            case 0:
            case 1:
                JsonNode tree = mapper.readTree(json);
                StringBuilder w = new StringBuilder("json:");
                for (int k = 1 + nextInt(3); k > 0; k--) {
                    w.append(' ').append(mutateTree(tree));
                }
                return new Mutant(w.toString(), mapper.writeValueAsBytes(tree));
            case 2:
                return new Mutant("text damage",
                        damageJsonText(json).getBytes(StandardCharsets.UTF_8));
            default:
                byte[] b = json.getBytes(StandardCharsets.UTF_8);
                boolean cut = random().nextBoolean();
                return new Mutant(cut ? "truncation" : "bit flips", cut ? truncate(b) : flipBits(b, 0, b.length));
        }
    }
}
