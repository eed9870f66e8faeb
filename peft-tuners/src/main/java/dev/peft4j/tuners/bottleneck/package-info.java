/**
 * Bottleneck adapters (Houlsby 2019, Pfeiffer 2020, parallel) with AdapterHub {@code adapters}
 * 1.2's configuration ({@link dev.peft4j.tuners.bottleneck.BottleneckConfig}: {@code SeqBnConfig},
 * {@code DoubleSeqBnConfig}, {@code ParBnConfig}), placement, initialization and directory format
 * ({@code adapter_config.json} + {@code adapter.safetensors}, keys keeping the adapter name), as a
 * {@link dev.peft4j.core.peft.PeftMethod} ({@link dev.peft4j.tuners.bottleneck.BottleneckMethod}).
 */
package dev.peft4j.tuners.bottleneck;
