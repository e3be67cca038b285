/**
 * Training options of an SAE, one field per knob, with the defaults and the paper or project
 * each default comes from. `trainConfig(partial)` fills defaults and rejects bad combinations,
 * naming the fields (STYLE 9); everything downstream takes the resolved `TrainConfig`.
 *
 * Vocabulary: d = d_in, m = d_sae, B = tokens per batch. All training happens on inputs scaled
 * by s = √d / E‖x‖ (SAELens normalize_activations="expected_average_only_in"); the scale is
 * folded into the weights on save (see fold.ts), so saved SAEs read unscaled activations.
 * A transcoder (dOut set, o = d_out) predicts an activation y at another hook from x; y is scaled
 * separately, by √o / E‖y‖, and both scales are folded on save.
 */
import { UsageError } from '../src/errors.js';
import type { SaeArchitecture } from './sae.js';

/** Variants interp trains. */
export type SaeVariant =
  /** ReLU with decoder-norm-weighted L1 (Anthropic, "Circuits Updates — April 2024"; Bricken et al. 2023). */
  | 'relu'
  /** TopK with AuxK on dead latents (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"). */
  | 'topk'
  /** BatchTopK: top k·B over the batch, saved as JumpReLU with a global threshold (Bussmann et al. 2024). */
  | 'batchtopk'
  /** JumpReLU with a rectangle-kernel straight-through estimator and an L0 penalty (Rajamanoharan et al. 2024). */
  | 'jumprelu';

export const SAE_VARIANTS: readonly SaeVariant[] = ['relu', 'topk', 'batchtopk', 'jumprelu'];

/** The architecture a variant is saved as (SAELens cfg.json `architecture`). */
export function savedArchitecture(variant: SaeVariant): SaeArchitecture {
  switch (variant) {
    case 'relu':
      return 'relu';
    case 'topk':
      return 'topk';
    case 'batchtopk':
    case 'jumprelu':
      return 'jumprelu';
  }
}

/** Whether decoder rows are kept at unit norm (gradient projected, rows renormalised each step). */
export function unitNormDecoder(variant: SaeVariant): boolean {
  switch (variant) {
    case 'relu':
      return false; // April 2024 recipe: unconstrained decoder, its norm is inside the L1 penalty
    case 'topk':
    case 'batchtopk':
      return true; // Gao et al. 2024 §2.3 (and sparsify, SAELens)
    case 'jumprelu':
      return true; // Rajamanoharan et al. 2024, §4 (Gemma Scope too)
  }
}

export interface TrainConfig {
  readonly variant: SaeVariant;
  /** Width of the input activation, d. */
  readonly dIn: number;
  /**
   * Transcoders only: width o of the output activation (read at another hook), which the
   * dictionary predicts from the input instead of reconstructing it; null for an SAE.
   */
  readonly dOut: number | null;
  /** Number of latents, m. */
  readonly dSae: number;
  /** Active latents per token (topk; batchtopk: k·B per batch); null for relu and jumprelu. */
  readonly k: number | null;
  /** Sparsity coefficient λ: L1 (relu) or L0 (jumprelu); unused by topk and batchtopk. */
  readonly sparsityCoefficient: number;
  /** Fraction of the steps over which λ warms up linearly from 0 (April 2024 recipe: 5%). */
  readonly sparsityWarmup: number;
  /** Adam learning rate (see defaultLr); β1 0.9, β2 0.999 as torch. */
  readonly lr: number;
  /** Tokens per step (SAELens train_batch_size_tokens 4096). */
  readonly batchTokens: number;
  /** Training tokens in all. */
  readonly tokens: number;
  /** Seed of the initialisation and of the shuffle. */
  readonly seed: number;
  /** AuxK coefficient α (Gao et al. 2024, appendix A.2: 1/32). */
  readonly auxkCoefficient: number;
  /** Dead latents used by AuxK per token (Gao et al.: d/2, d the width AuxK reconstructs: d_out for transcoders). */
  readonly kAux: number;
  /** A latent that has not fired in this many training tokens is dead (sparsify: 10M; see trainConfig). */
  readonly deadTokens: number;
  /** JumpReLU rectangle-kernel bandwidth ε (SAELens 1e-3). */
  readonly bandwidth: number;
  /** JumpReLU initial threshold θ (SAELens jumprelu_init_threshold 1e-3). */
  readonly initThreshold: number;
  /** BatchTopK running-threshold rate (SAELens topk_threshold_lr 0.01). */
  readonly thresholdRate: number;
  /** Norm of each decoder row at initialisation (0.1 for relu as in the April 2024 update; 1 for unit-norm variants). */
  readonly decoderInitNorm: number;
  /** Steps between checkpoints (0: only at the end). */
  readonly checkpointEvery: number;
  /** Fraction of sequences held out for evaluation. */
  readonly evalFraction: number;
}

/** Width of what the dictionary outputs: d_out for a transcoder, d_in for an SAE. */
export function outWidth(cfg: TrainConfig): number {
  return cfg.dOut ?? cfg.dIn;
}

/** Default λ per variant, for inputs scaled to E‖x‖ = √d. */
export function defaultSparsityCoefficient(variant: SaeVariant): number {
  switch (variant) {
    case 'relu':
      return 5; // April 2024 update: λ = 5 with E‖x‖ = √d and the decoder-norm-weighted L1
    case 'jumprelu':
      return 1; // SAELens JumpReLU l0_coefficient default 1.0
    case 'topk':
    case 'batchtopk':
      return 0;
  }
}

/**
 * Default Adam learning rate. TopK and BatchTopK: sparsify's default, 2e-4 / √(m / 2¹⁴)
 * (sparsify/trainer.py; 4e-4 at m = 4096, 1.6e-4 at GPT-2 small's 24,576). At the default width
 * m = 32·d it keeps lr·√d — Adam's step relative to the entries of a unit row, ≈ 1/√d — the same
 * at every d, where a fixed 3e-4 moves a small model's rows relatively less. ReLU and JumpReLU:
 * SAELens' 3e-4.
 */
export function defaultLr(variant: SaeVariant, dSae: number): number {
  switch (variant) {
    case 'topk':
    case 'batchtopk':
      return 2e-4 / Math.sqrt(dSae / 2 ** 14);
    case 'relu':
    case 'jumprelu':
      return 3e-4;
  }
}

/** Training tokens when none are given: SAELens' training_tokens default. */
export const DEFAULT_TRAINING_TOKENS = 2_000_000;

/** Default expansion factor d_sae / d_in (sparsify's default, 32). */
export const DEFAULT_EXPANSION = 32;

/**
 * Training tokens when none are given: one pass over the capture, but at least SAELens'
 * 2M (about 490 steps of 4,096), repeating a smaller capture — one pass over TinyWorld's 848k-token
 * corpus is 207 steps, too few for TopK at the default lr to pass explained variance 0.9.
 */
export function defaultTokens(rows: number, batchTokens: number): number {
  return Math.max(batchTokens, Math.floor(Math.max(rows, DEFAULT_TRAINING_TOKENS) / batchTokens) * batchTokens);
}

export type TrainConfigInput = Partial<TrainConfig> & Pick<TrainConfig, 'variant' | 'dIn' | 'dSae'>;

/** Fills defaults and validates; UsageError naming the field on a bad value or combination. */
export function trainConfig(input: TrainConfigInput): TrainConfig {
  const variant = input.variant;
  if (!SAE_VARIANTS.includes(variant)) throw new UsageError(`--arch ${String(variant)}: unknown SAE variant`, `use one of ${SAE_VARIANTS.join(', ')}`);
  const needsK = variant === 'topk' || variant === 'batchtopk';
  const batchTokens = input.batchTokens ?? 4096;
  const tokens = input.tokens ?? DEFAULT_TRAINING_TOKENS;
  const cfg: TrainConfig = {
    variant,
    dIn: input.dIn,
    dOut: input.dOut ?? null,
    dSae: input.dSae,
    k: needsK ? (input.k ?? 32) : null,
    sparsityCoefficient: input.sparsityCoefficient ?? defaultSparsityCoefficient(variant),
    sparsityWarmup: input.sparsityWarmup ?? 0.05,
    lr: input.lr ?? defaultLr(variant, input.dSae),
    batchTokens,
    tokens,
    seed: input.seed ?? 0,
    auxkCoefficient: input.auxkCoefficient ?? 1 / 32,
    kAux: input.kAux ?? Math.max(1, Math.floor((input.dOut ?? input.dIn) / 2)),
    // Gao et al. 2024 (and sparsify) count 10M tokens in runs of billions, about 1% of the run or
    // less; a fixed 10M would never declare a latent dead in a short run, so the window is 1% of
    // the run, at least 10 batches, at most 10M tokens.
    deadTokens: input.deadTokens ?? Math.min(10_000_000, Math.max(10 * batchTokens, Math.floor(tokens / 100))),
    bandwidth: input.bandwidth ?? 1e-3,
    initThreshold: input.initThreshold ?? 1e-3,
    thresholdRate: input.thresholdRate ?? 0.01,
    decoderInitNorm: input.decoderInitNorm ?? (unitNormDecoder(variant) ? 1 : 0.1),
    checkpointEvery: input.checkpointEvery ?? 0,
    evalFraction: input.evalFraction ?? 0.05,
  };
  checkConfig(cfg, needsK, input.k);
  return cfg;
}

function checkConfig(cfg: TrainConfig, needsK: boolean, k: number | null | undefined): void {
  const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`${name} = ${v}: expected an integer in [${min}, ${max}]`, `pass a valid ${name}`);
  };
  const num = (name: string, v: number, ok: boolean, want: string) => {
    if (!Number.isFinite(v) || !ok) throw new UsageError(`${name} = ${v}: expected ${want}`, `pass a valid ${name}`);
  };
  int('d_in', cfg.dIn, 1);
  if (cfg.dOut !== null) {
    int('d_out', cfg.dOut, 1);
    if (cfg.variant !== 'topk') throw new UsageError(`a transcoder with --arch ${cfg.variant}: transcoders train with TopK only`, 'train the transcoder with --arch transcoder (TopK, --k)');
  }
  int('--width (d_sae)', cfg.dSae, 1);
  if (!needsK && k !== undefined && k !== null) throw new UsageError(`--k ${k} given for --arch ${cfg.variant}, which has no k`, 'drop --k, or use --arch topk or batchtopk');
  if (cfg.k !== null) int('--k', cfg.k, 1, cfg.dSae);
  int('--batch-tokens', cfg.batchTokens, 1, 1 << 20);
  int('--tokens', cfg.tokens, cfg.batchTokens);
  int('--seed', cfg.seed, 0, 0xffffffff);
  int('kAux', cfg.kAux, 1);
  int('deadTokens', cfg.deadTokens, 1);
  int('--checkpoint-every', cfg.checkpointEvery, 0);
  num('--lr', cfg.lr, cfg.lr > 0, 'a positive number');
  num('--l1/--l0 (sparsity coefficient)', cfg.sparsityCoefficient, cfg.sparsityCoefficient >= 0, 'a number ≥ 0');
  num('sparsityWarmup', cfg.sparsityWarmup, cfg.sparsityWarmup >= 0 && cfg.sparsityWarmup <= 1, 'a fraction in [0, 1]');
  num('auxkCoefficient', cfg.auxkCoefficient, cfg.auxkCoefficient >= 0, 'a number ≥ 0');
  num('bandwidth', cfg.bandwidth, cfg.bandwidth > 0, 'a positive number');
  num('initThreshold', cfg.initThreshold, cfg.initThreshold > 0, 'a positive number (θ = exp(log θ))');
  num('thresholdRate', cfg.thresholdRate, cfg.thresholdRate > 0 && cfg.thresholdRate <= 1, 'a rate in (0, 1]');
  num('decoderInitNorm', cfg.decoderInitNorm, cfg.decoderInitNorm > 0, 'a positive number');
  num('--eval-fraction', cfg.evalFraction, cfg.evalFraction >= 0 && cfg.evalFraction < 1, 'a fraction in [0, 1)');
}

/** λ at `step` (0-based) of `steps`: linear warm-up over the first `sparsityWarmup` of the run. */
export function sparsityAt(cfg: TrainConfig, step: number, steps: number): number {
  const warm = Math.floor(cfg.sparsityWarmup * steps);
  if (warm <= 0 || step >= warm) return cfg.sparsityCoefficient;
  return (cfg.sparsityCoefficient * (step + 1)) / warm;
}
