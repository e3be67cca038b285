/**
 * A sparse autoencoder or transcoder as SAELens defines it (inference form, SAELens ≥ 6), and a
 * plain TypeScript reference of its encode and decode. Every variant interp trains is saved in one
 * of these architectures: ReLU, TopK, JumpReLU (BatchTopK is saved as JumpReLU with its learned
 * threshold, as SAELens does).
 *
 * Shapes: n = rows (tokens), d = d_in, m = d_sae, o = d_out (= d for an SAE). Row-major:
 *   W_enc [d, m], W_dec [m, o] (one row per latent), b_enc [m], b_dec [o], threshold [m],
 *   W_skip [o, d] (skip transcoders).
 *
 * Encode (SAELens saes/sae.py `process_sae_in` + `encode`, jbloomAus/SAELens 91ca16cc):
 *   x₀ = norm_in(x)                    normalize_activations: none | layer_norm | constant_norm_rescale
 *   x' = apply_b_dec_to_input ? x₀ − b_dec : x₀      (never for transcoders: b_dec is [o])
 *   pre = x' W_enc + b_enc
 *   relu:     f = max(pre, 0)
 *   topk:     f = the k largest entries of max(pre, 0), others 0 (per row)
 *   jumprelu: f = max(pre, 0) · 1[pre > θ]             (θ = threshold, stored as θ, not log θ)
 * Decode: x̂ = norm_out(f W_dec + b_dec)   (+ x W_skipᵀ for skip transcoders)
 *   layer_norm:            norm_in(x) = (x − μ) / (σ + 1e-5), σ the unbiased std (torch.std) of
 *                          x − μ; norm_out(y) = y σ + μ with the μ, σ of the same row
 *   constant_norm_rescale: norm_in(x) = x √d / ‖x‖;  norm_out(y) = y ‖x‖ / √d
 *   Transcoders (saes/transcoder.py) apply norm_in but never norm_out: their output lives at
 *   another hook.
 */
import { ShapeMismatchError, UsageError, describeValue } from '../src/errors.js';

/** Activation of a saved dictionary (cfg.json `architecture`, see io.ts for the names on disk). */
export type SaeArchitecture = 'relu' | 'topk' | 'jumprelu';

/**
 * Run-time input normalisation SAELens applies per row (normalize_activations). Dataset-wise
 * scalings ("expected_average_only_in", activation_scaler.json, Llama Scope's norms) are folded
 * into the weights on import, so they never appear here.
 */
export type ActivationNormalization = 'none' | 'layer_norm' | 'constant_norm_rescale';

/** cfg.json in SAELens 6's inference format; field names are SAELens' own. */
export interface SaeConfig {
  readonly architecture: SaeArchitecture;
  readonly d_in: number;
  readonly d_sae: number;
  /** Transcoders only (SAELens TranscoderConfig.d_out): width of the output; absent for an SAE. */
  readonly d_out?: number;
  /** Active latents per token (topk only), else null. */
  readonly k: number | null;
  readonly dtype: 'float32';
  readonly device: 'cpu';
  /** Subtract b_dec before encoding (SAELens default true; Gemma Scope and transcoders false). */
  readonly apply_b_dec_to_input: boolean;
  readonly normalize_activations: ActivationNormalization;
  /**
   * "hook_z": SAELens flattens attn.hook_z [.., head, d_head] to [.., head·d_head] before encoding,
   * which is the row interp captures for that hook, so both mean the same computation here.
   */
  readonly reshape_activations: 'none' | 'hook_z';
  /** TopK: SAELens rescales top-k activations by the decoder norm when true; interp folds it on import and writes false. */
  readonly rescale_acts_by_decoder_norm?: boolean;
  readonly metadata: SaeMetadata;
}

export interface SaeMetadata {
  /** Must be a version ≥ 6.0.0 or SAELens falls back to its legacy reader. */
  readonly sae_lens_version: string;
  readonly model_name: string;
  readonly hook_name: string;
  /** Transcoders: the hook whose value they predict (e.g. blocks.L.hook_mlp_out). */
  readonly hook_name_out?: string;
  readonly hook_head_index: null;
  readonly context_size: number;
  readonly prepend_bos: boolean;
  /**
   * The model settings the activations were taken with, as the source wrote them (TransformerLens
   * from_pretrained kwargs); interp's own runs record {center_writing_weights: false}.
   */
  readonly model_from_pretrained_kwargs: Readonly<Record<string, unknown>>;
  /** Free-form extras interp records (trainer variant, tokens, capture hash, provenance, ...). */
  readonly [extra: string]: unknown;
}

export interface SaeWeights {
  /** [d, m] */
  readonly W_enc: Float32Array;
  /** [m, o] */
  readonly W_dec: Float32Array;
  /** [m] */
  readonly b_enc: Float32Array;
  /** [o] */
  readonly b_dec: Float32Array;
  /** [m], jumprelu only (θ itself) */
  readonly threshold: Float32Array | null;
  /** [o, d], skip transcoders only (SAELens SkipTranscoder: out += x @ W_skip.T) */
  readonly W_skip?: Float32Array | null;
}

export interface Sae {
  readonly cfg: SaeConfig;
  readonly weights: SaeWeights;
}

/** True for a transcoder (a dictionary whose output is read at another hook than its input). */
export function isTranscoder(cfg: SaeConfig): boolean {
  return cfg.d_out !== undefined;
}

/** Width of the output: d_out for transcoders, d_in for SAEs. */
export function outputWidth(cfg: SaeConfig): number {
  return cfg.d_out ?? cfg.d_in;
}

/** Checks that weights match the config's shapes and the architecture's tensors. */
export function checkSae(sae: Sae, where: string): void {
  const { d_in: d, d_sae: m, architecture } = sae.cfg;
  const o = outputWidth(sae.cfg);
  const w = sae.weights;
  const expect = (name: string, got: number, want: number) => {
    if (got !== want) throw new ShapeMismatchError(`${where}: ${name} has ${got} values, expected ${want} (d_in ${d}, d_sae ${m}${isTranscoder(sae.cfg) ? `, d_out ${o}` : ''})`, 'check that cfg.json belongs to these weights');
  };
  if (isTranscoder(sae.cfg) && (!Number.isInteger(o) || o < 1)) throw new UsageError(`${where}: d_out = ${describeValue(sae.cfg.d_out)}`, 'a transcoder needs a positive integer d_out');
  expect('W_enc', w.W_enc.length, d * m);
  expect('W_dec', w.W_dec.length, m * o);
  expect('b_enc', w.b_enc.length, m);
  expect('b_dec', w.b_dec.length, o);
  if (w.W_skip) {
    if (!isTranscoder(sae.cfg)) throw new UsageError(`${where}: W_skip on an SAE`, 'a skip term belongs to a transcoder: give d_out');
    expect('W_skip', w.W_skip.length, o * d);
  }
  if (isTranscoder(sae.cfg) && sae.cfg.apply_b_dec_to_input) {
    throw new UsageError(`${where}: a transcoder with apply_b_dec_to_input true`, 'SAELens transcoders never subtract b_dec (it has d_out values): write false');
  }
  if (architecture === 'jumprelu') {
    if (!w.threshold) throw new ShapeMismatchError(`${where}: a jumprelu SAE needs a threshold tensor`, 'save the JumpReLU threshold [d_sae] as "threshold"');
    expect('threshold', w.threshold.length, m);
  }
  if (architecture === 'topk' && (sae.cfg.k === null || !Number.isInteger(sae.cfg.k) || sae.cfg.k < 1 || sae.cfg.k > m)) {
    throw new UsageError(`${where}: topk SAE with k = ${describeValue(sae.cfg.k)}`, `k must be an integer in [1, ${m}]`);
  }
}

/** Per-row statistics of the input normalisation, which decode needs to undo it. */
interface RowNorm {
  /** layer_norm: the row mean; else 0. */
  readonly shift: number;
  /** Output scale: σ (layer_norm) or ‖x‖/√d (constant_norm_rescale); else 1. */
  readonly scale: number;
}

/** norm_in of one row into `out` (float64), returning what norm_out needs. */
function normalizeRow(sae: Sae, x: ArrayLike<number>, offset: number, out: Float64Array): RowNorm {
  const d = sae.cfg.d_in;
  for (let j = 0; j < d; j++) out[j] = x[offset + j];
  switch (sae.cfg.normalize_activations) {
    case 'none':
      return { shift: 0, scale: 1 };
    case 'layer_norm': {
      let mu = 0;
      for (let j = 0; j < d; j++) mu += out[j];
      mu /= d;
      let ss = 0;
      for (let j = 0; j < d; j++) ss += (out[j] - mu) ** 2;
      const std = Math.sqrt(ss / (d - 1)); // torch.std: Bessel-corrected
      for (let j = 0; j < d; j++) out[j] = (out[j] - mu) / (std + 1e-5);
      return { shift: mu, scale: std };
    }
    case 'constant_norm_rescale': {
      let ss = 0;
      for (let j = 0; j < d; j++) ss += out[j] ** 2;
      const coeff = Math.sqrt(d) / Math.sqrt(ss);
      for (let j = 0; j < d; j++) out[j] *= coeff;
      return { shift: 0, scale: 1 / coeff };
    }
  }
}

/** Reference encode in float64 accumulation: x [n, d] → f [n, m]. */
export function encodeReference(sae: Sae, x: Float32Array, n: number): Float32Array {
  const { d_in: d, d_sae: m, architecture, k } = sae.cfg;
  const { W_enc, b_enc, b_dec, threshold } = sae.weights;
  const f = new Float32Array(n * m);
  const xin = new Float64Array(d);
  const pre = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    normalizeRow(sae, x, r * d, xin);
    if (sae.cfg.apply_b_dec_to_input) for (let j = 0; j < d; j++) xin[j] -= b_dec[j];
    for (let i = 0; i < m; i++) pre[i] = b_enc[i];
    for (let j = 0; j < d; j++) {
      const xj = xin[j];
      if (xj === 0) continue;
      for (let i = 0; i < m; i++) pre[i] += xj * W_enc[j * m + i];
    }
    const row = f.subarray(r * m, (r + 1) * m);
    switch (architecture) {
      case 'relu':
        for (let i = 0; i < m; i++) row[i] = Math.max(pre[i], 0);
        break;
      case 'jumprelu':
        for (let i = 0; i < m; i++) row[i] = pre[i] > (threshold as Float32Array)[i] ? Math.max(pre[i], 0) : 0;
        break;
      case 'topk': {
        const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => pre[b] - pre[a] || a - b);
        for (const i of order.slice(0, k as number)) row[i] = Math.max(pre[i], 0);
        break;
      }
    }
  }
  return f;
}

/**
 * Reference decode: f [n, m] → x̂ [n, o]. `x` [n, d], the rows f was encoded from, is needed when
 * the output depends on the input: a normalising SAE (norm_out uses x's statistics) or a skip
 * transcoder (x W_skipᵀ).
 */
export function decodeReference(sae: Sae, f: Float32Array, n: number, x?: Float32Array): Float32Array {
  const { d_in: d, d_sae: m } = sae.cfg;
  const o = outputWidth(sae.cfg);
  const { W_dec, b_dec } = sae.weights;
  const W_skip = sae.weights.W_skip ?? null;
  const denormalize = sae.cfg.normalize_activations !== 'none' && !isTranscoder(sae.cfg);
  if ((denormalize || W_skip) && !x) {
    throw new UsageError('decodeReference: this dictionary\'s output depends on its input (normalisation or skip term)', 'pass the encoded rows x as the fourth argument');
  }
  const out = new Float32Array(n * o);
  const acc = new Float64Array(o);
  const xin = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < o; j++) acc[j] = b_dec[j];
    for (let i = 0; i < m; i++) {
      const fi = f[r * m + i];
      if (fi === 0) continue;
      for (let j = 0; j < o; j++) acc[j] += fi * W_dec[i * o + j];
    }
    if (denormalize) {
      const { shift, scale } = normalizeRow(sae, x as Float32Array, r * d, xin);
      for (let j = 0; j < o; j++) acc[j] = acc[j] * scale + shift;
    }
    if (W_skip) {
      const xr = x as Float32Array;
      for (let j = 0; j < o; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += xr[r * d + c] * W_skip[j * d + c];
        acc[j] += s;
      }
    }
    for (let j = 0; j < o; j++) out[r * o + j] = acc[j];
  }
  return out;
}

/** norm_in of every row of x [n, d] (a copy; x itself when normalize_activations is "none"). */
export function normalizedInput(sae: Sae, x: Float32Array, n: number): Float32Array {
  if (sae.cfg.normalize_activations === 'none') return x;
  const d = sae.cfg.d_in;
  const out = new Float32Array(n * d);
  const row = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    normalizeRow(sae, x, r * d, row);
    for (let j = 0; j < d; j++) out[r * d + j] = row[j];
  }
  return out;
}
