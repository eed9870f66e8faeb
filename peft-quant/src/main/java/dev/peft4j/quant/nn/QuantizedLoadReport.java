package dev.peft4j.quant.nn;

import dev.peft4j.core.nn.StateDictReport;

/**
 * What {@link QuantizedLoader} did, with its memory accounting. "Live" bytes are the tensor bytes
 * the loader held at a time: Java arrays it read or produced (float values, packed codes, scales,
 * quantizer scratch) and NDArrays it created, until released or handed to the model.
 *
 * @param stateDict matching of checkpoint names to parameters
 * @param quantized weights quantized while loading
 * @param prequantized weights read already quantized (bitsandbytes layout)
 * @param peakLiveBytes the most bytes held at once
 * @param finalLiveBytes bytes held at the end: what the load added to the model (device arrays and
 *     the 4-bit layers' Java-side quantization state)
 * @param largestLayerF32Bytes the largest weight quantized, as float32 bytes
 * @param rssBytes the process's resident set size after loading, -1 where unknown
 */
public record QuantizedLoadReport(
        StateDictReport stateDict,
        int quantized,
        int prequantized,
        long peakLiveBytes,
        long finalLiveBytes,
        long largestLayerF32Bytes,
        long rssBytes) {

    /**
     * @return whether the peak stayed within the final size plus the largest layer in float32,
     *     plus 10%
     */
    public boolean peakWithinBudget() {
        return peakLiveBytes <= (long) ((finalLiveBytes + largestLayerF32Bytes) * 1.1);
    }

    /** @return a one-line summary */
    public String summary() {
        return stateDict.summary() + "; " + quantized + " quantized, " + prequantized
                + " pre-quantized; live tensor bytes peak " + peakLiveBytes + ", final "
                + finalLiveBytes + ", largest layer F32 " + largestLayerF32Bytes + "; RSS "
                + (rssBytes < 0 ? "n/a" : rssBytes);
    }

    @Override
    public String toString() {
        return summary();
    }
}
