/**
 * A sparse autoencoder as SAELens defines it (inference form, SAELens ≥ 6), and a plain
 * TypeScript reference of its encode and decode. Every variant interp trains is saved in one of
 * these architectures: ReLU, TopK, JumpReLU (BatchTopK is saved as JumpReLU with its learned
 * threshold, as SAELens does).
 *
 * Shapes: n = rows (tokens), d = d_in, m = d_sae. Weights are row-major:
 *   W_enc [d, m], W_dec [m, d] (one row per latent), b_enc [m], b_dec [d], threshold [m].
 *
 * Encode (SAELens `encode`):  x' = apply_b_dec_to_input ? x − b_dec : x
 *   pre = x' W_enc + b_enc
 *   relu:     f = max(pre, 0)
 *   topk:     f = the k largest entries of max(pre, 0), others 0 (per row)
 *   jumprelu: f = pre · 1[pre > θ]                       (θ = threshold, stored as θ, not log θ)
 * Decode: x̂ = f W_dec + b_dec
 */
import { ShapeMismatchError, UsageError, describeValue } from '../src/errors.js';

/** Architectures of a saved SAE (cfg.json `architecture`; relu is written as SAELens' "standard", see io.ts). */
export type SaeArchitecture = 'relu' | 'topk' | 'jumprelu';

/** cfg.json in SAELens 6's inference format; field names are SAELens' own. */
export interface SaeConfig {
  readonly architecture: SaeArchitecture;
  readonly d_in: number;
  readonly d_sae: number;
  /** Active latents per token (topk only), else null. */
  readonly k: number | null;
  readonly dtype: 'float32';
  readonly device: 'cpu';
  /** Subtract b_dec before encoding (SAELens default true; Gemma Scope false). */
  readonly apply_b_dec_to_input: boolean;
  /** Always "none": interp folds its input scaling into the weights before saving. */
  readonly normalize_activations: 'none';
  readonly reshape_activations: 'none';
  /** TopK: SAELens rescales top-k activations by the decoder norm when true; interp keeps unit-norm decoders and writes false unless imported. */
  readonly rescale_acts_by_decoder_norm?: boolean;
  readonly metadata: SaeMetadata;
}

export interface SaeMetadata {
  /** Must be a version ≥ 6.0.0 or SAELens falls back to its legacy reader. */
  readonly sae_lens_version: string;
  readonly model_name: string;
  readonly hook_name: string;
  readonly hook_head_index: null;
  readonly context_size: number;
  readonly prepend_bos: boolean;
  readonly model_from_pretrained_kwargs: { readonly center_writing_weights: false };
  /** Free-form extras interp records (trainer variant, tokens, capture hash, ...). */
  readonly [extra: string]: unknown;
}

export interface SaeWeights {
  /** [d, m] */
  readonly W_enc: Float32Array;
  /** [m, d] */
  readonly W_dec: Float32Array;
  /** [m] */
  readonly b_enc: Float32Array;
  /** [d] */
  readonly b_dec: Float32Array;
  /** [m], jumprelu only (θ itself) */
  readonly threshold: Float32Array | null;
}

export interface Sae {
  readonly cfg: SaeConfig;
  readonly weights: SaeWeights;
}

/** Checks that weights match the config's shapes and the architecture's tensors. */
export function checkSae(sae: Sae, where: string): void {
  const { d_in: d, d_sae: m, architecture } = sae.cfg;
  const w = sae.weights;
  const expect = (name: string, got: number, want: number) => {
    if (got !== want) throw new ShapeMismatchError(`${where}: ${name} has ${got} values, expected ${want} (d_in ${d}, d_sae ${m})`, 'check that cfg.json belongs to these weights');
  };
  expect('W_enc', w.W_enc.length, d * m);
  expect('W_dec', w.W_dec.length, m * d);
  expect('b_enc', w.b_enc.length, m);
  expect('b_dec', w.b_dec.length, d);
  if (architecture === 'jumprelu') {
    if (!w.threshold) throw new ShapeMismatchError(`${where}: a jumprelu SAE needs a threshold tensor`, 'save the JumpReLU threshold [d_sae] as "threshold"');
    expect('threshold', w.threshold.length, m);
  }
  if (architecture === 'topk' && (sae.cfg.k === null || !Number.isInteger(sae.cfg.k) || sae.cfg.k < 1 || sae.cfg.k > m)) {
    throw new UsageError(`${where}: topk SAE with k = ${describeValue(sae.cfg.k)}`, `k must be an integer in [1, ${m}]`);
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
    for (let j = 0; j < d; j++) xin[j] = x[r * d + j] - (sae.cfg.apply_b_dec_to_input ? b_dec[j] : 0);
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
        for (let i = 0; i < m; i++) row[i] = pre[i] > (threshold as Float32Array)[i] ? pre[i] : 0;
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

/** Reference decode: f [n, m] → x̂ [n, d]. */
export function decodeReference(sae: Sae, f: Float32Array, n: number): Float32Array {
  const { d_in: d, d_sae: m } = sae.cfg;
  const { W_dec, b_dec } = sae.weights;
  const out = new Float32Array(n * d);
  const acc = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) acc[j] = b_dec[j];
    for (let i = 0; i < m; i++) {
      const fi = f[r * m + i];
      if (fi === 0) continue;
      for (let j = 0; j < d; j++) acc[j] += fi * W_dec[i * d + j];
    }
    for (let j = 0; j < d; j++) out[r * d + j] = acc[j];
  }
  return out;
}
