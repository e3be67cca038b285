/**
 * Float64 building blocks of the reference forward passes (test/helpers/checkpoints/*): plain
 * loops, one sequence at a time, written for clarity rather than speed. Nothing here is shared
 * with the runtime; the formulas follow Hugging Face transformers' modeling files, cited where used.
 *
 * Vocabulary: T = positions of the sequence, H = query heads, KV = key/value heads, dh = head dim.
 * A Mat is row-major [rows, cols]; per-head tensors are [T, heads·dh] (head-major inside a row).
 */

/** A weight tensor as the checkpoint stores it, widened to float64. */
export interface Tensor64 {
  readonly data: Float64Array;
  readonly shape: readonly number[];
}

/** Row-major [rows, cols]. */
export interface Mat {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

export const mat = (data: Float64Array, rows: number, cols: number): Mat => ({ data, rows, cols });

/** nn.Linear: y [T, out] = x [T, in] · Wᵀ + b, with W stored [out, in]. */
export function linear(x: Mat, w: Tensor64, bias?: Float64Array): Mat {
  const [out, inp] = w.shape;
  if (inp !== x.cols) throw new Error(`reference linear: weight [${w.shape}] does not take rows of ${x.cols}`);
  const y = new Float64Array(x.rows * out);
  for (let t = 0; t < x.rows; t++) {
    for (let o = 0; o < out; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inp; i++) s += x.data[t * inp + i] * w.data[o * inp + i];
      y[t * out + o] = s;
    }
  }
  return mat(y, x.rows, out);
}

export const add = (a: Mat, b: Mat): Mat => mat(a.data.map((v, i) => v + b.data[i]), a.rows, a.cols);
export const map = (a: Mat, f: (v: number, i: number) => number): Mat => mat(a.data.map(f), a.rows, a.cols);

/** Rows of a [vocab, d] table, as the embedding lookup does. */
export function gather(table: Tensor64, ids: readonly number[]): Mat {
  const d = table.shape[1];
  const y = new Float64Array(ids.length * d);
  ids.forEach((id, i) => y.set(table.data.subarray(id * d, (id + 1) * d), i * d));
  return mat(y, ids.length, d);
}

export type NormKind = 'layer' | 'rms';

/** A norm's output before its weight (TransformerLens hook_normalized) and its divisor per group (hook_scale). */
export interface Normalized {
  readonly normalized: Mat;
  /** √(var + eps) (LayerNorm) or √(mean(x²) + eps) (RMSNorm), one per group of `group` values. */
  readonly scale: Float64Array;
}

/**
 * Normalises every consecutive group of `group` values (a whole row, or one head of a row for
 * q/k norms). LayerNorm uses the biased variance, as torch.nn.LayerNorm does.
 */
export function normalize(x: Mat, kind: NormKind, eps: number, group = x.cols): Normalized {
  const n = x.data.length / group;
  const y = new Float64Array(x.data.length);
  const scale = new Float64Array(n);
  for (let g = 0; g < n; g++) {
    const v = x.data.subarray(g * group, (g + 1) * group);
    const mean = kind === 'layer' ? v.reduce((a, b) => a + b, 0) / group : 0;
    const ms = v.reduce((a, b) => a + (b - mean) ** 2, 0) / group;
    scale[g] = Math.sqrt(ms + eps);
    for (let i = 0; i < group; i++) y[g * group + i] = (v[i] - mean) / scale[g];
  }
  return { normalized: mat(y, x.rows, x.cols), scale };
}

/** y = x · (offset + w) + b per group position: offset 1 for Gemma's (1 + w) RMSNorm, 0 otherwise. */
export function affine(x: Mat, w: Float64Array, offset: number, bias?: Float64Array): Mat {
  const g = w.length;
  return map(x, (v, i) => v * (offset + w[i % g]) + (bias ? bias[i % g] : 0));
}

/** RoPE inverse frequencies 1 / base^(2k / dim), k < dim / 2 (the default rope of every modeling file used here). */
export function inverseFrequencies(dim: number, base: number, linearFactor = 1): Float64Array {
  return Float64Array.from({ length: dim / 2 }, (_, k) => 1 / base ** ((2 * k) / dim) / linearFactor);
}

/**
 * Rotary embedding in the rotate_half layout on the first `rotDims` dims of every head (GPT-NeoX
 * rotates only those; the rest pass through): for i < rotDims, with half = rotDims / 2,
 * y_i = x_i cos(p·f) + r_i sin(p·f), r_i = −x_{i+half} (i < half) or x_{i−half}, f = invFreq[i mod half].
 */
export function rotary(x: Mat, heads: number, dh: number, rotDims: number, invFreq: Float64Array, positions: readonly number[]): Mat {
  const y = Float64Array.from(x.data);
  const half = rotDims / 2;
  for (let t = 0; t < x.rows; t++) {
    for (let h = 0; h < heads; h++) {
      const base = t * heads * dh + h * dh;
      for (let i = 0; i < rotDims; i++) {
        const angle = positions[t] * invFreq[i % half];
        const r = i < half ? -x.data[base + i + half] : x.data[base + i - half];
        y[base + i] = x.data[base + i] * Math.cos(angle) + r * Math.sin(angle);
      }
    }
  }
  return mat(y, x.rows, x.cols);
}

export interface AttentionSpec {
  readonly heads: number;
  readonly kvHeads: number;
  readonly dh: number;
  /** Scores are q·k · scale. */
  readonly scale: number;
  /** cap · tanh(score / cap) before the mask, or null. */
  readonly softcap: number | null;
  /** Query i sees keys j with i − window < j ≤ i (window keys, itself included); null: all j ≤ i. */
  readonly window: number | null;
}

export interface AttentionResult {
  /** [H, T, T], masked entries −∞ (TransformerLens hook_attn_scores). */
  readonly scores: Float64Array;
  /** [H, T, T], masked entries exactly 0. */
  readonly pattern: Float64Array;
  /** [T, H·dh]: pattern · v per head. */
  readonly z: Mat;
}

/**
 * Causal (optionally sliding-window) attention of q [T, H·dh] over k, v [T, KV·dh]; query head h
 * reads KV head ⌊h / (H / KV)⌋ (repeat_kv in the modeling files).
 */
export function attention(q: Mat, k: Mat, v: Mat, a: AttentionSpec): AttentionResult {
  const { heads: H, kvHeads: KV, dh } = a;
  const T = q.rows;
  const scores = new Float64Array(H * T * T).fill(-Infinity);
  const pattern = new Float64Array(H * T * T);
  const z = new Float64Array(T * H * dh);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / KV));
    for (let i = 0; i < T; i++) {
      const row = (h * T + i) * T;
      const lo = a.window === null ? 0 : Math.max(0, i - a.window + 1);
      let max = -Infinity;
      for (let j = lo; j <= i; j++) {
        let s = 0;
        for (let e = 0; e < dh; e++) s += q.data[i * H * dh + h * dh + e] * k.data[j * KV * dh + g * dh + e];
        s *= a.scale;
        if (a.softcap !== null) s = a.softcap * Math.tanh(s / a.softcap);
        scores[row + j] = s;
        max = Math.max(max, s);
      }
      let total = 0;
      for (let j = lo; j <= i; j++) total += (pattern[row + j] = Math.exp(scores[row + j] - max));
      for (let j = lo; j <= i; j++) pattern[row + j] /= total;
      for (let e = 0; e < dh; e++) {
        let acc = 0;
        for (let j = lo; j <= i; j++) acc += pattern[row + j] * v.data[j * KV * dh + g * dh + e];
        z[i * H * dh + h * dh + e] = acc;
      }
    }
  }
  return { scores, pattern, z: mat(z, T, H * dh) };
}

/**
 * erf to float64 precision: its Maclaurin series below |x| = 2.5, the continued fraction of erfc
 * above (Abramowitz & Stegun 7.1.5 and 7.1.14).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}

/** Activations by transformers' ACT2FN names (activations.py). */
export function activation(name: string): (v: number) => number {
  switch (name) {
    case 'gelu': // GELUActivation: exact erf
      return (v) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    case 'silu':
    case 'swish':
      return (v) => v / (1 + Math.exp(-v));
    case 'relu':
      return (v) => Math.max(0, v);
    default:
      throw new Error(`reference: activation "${name}" is not implemented here`);
  }
}
