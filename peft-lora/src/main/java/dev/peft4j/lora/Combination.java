package dev.peft4j.lora;

/**
 * How {@link LoraAdapters#addWeightedAdapter} combines adapters (PEFT's {@code combination_type}),
 * for sources {@code (Aᵢ, Bᵢ)} with scalings {@code sᵢ} and weights {@code wᵢ}; the new adapter has
 * {@code lora_alpha = r}, so its scaling is 1.
 */
public enum Combination {
    /**
     * Equal ranks; {@code A = Σ sign(wᵢsᵢ)·√|wᵢsᵢ|·Aᵢ}, {@code B = Σ √|wᵢsᵢ|·Bᵢ}. Exact for one
     * adapter; with several it has PEFT's cross terms {@code Bᵢ·Aⱼ}.
     */
    LINEAR,
    /** Rank Σrᵢ; {@code A = [w₁s₁A₁; w₂s₂A₂; …]}, {@code B = [B₁ B₂ …]}: exactly {@code Σ wᵢsᵢBᵢAᵢ}. */
    CAT,
    /**
     * A truncated SVD of PEFT's combined delta {@code Σ (wᵢsᵢ)·(sᵢBᵢAᵢ)} (PEFT multiplies the
     * weight by the scaling and takes the scaled delta, so {@code sᵢ} enters twice; reproduced as
     * is), at the requested rank (default: the largest source rank): {@code B = U·S}, {@code A = Vᵀ}.
     */
    SVD
}
