/**
 * Where steering vectors come from: activations of contrastive pairs read at chosen positions
 * (difference of means, ActAdd — Turner et al. 2023 — and CAA — Rimsky et al. 2024 —, or the
 * first principal component of the differences as in RepE, Zou et al. 2023), an SAE decoder row,
 * a probe direction, or a random direction of a given norm (the control every steering claim
 * needs).
 *
 * Vocabulary: n = pairs, d = d_model, b = batch rows, p = padded positions.
 */
import { ShapeMismatchError, UsageError } from '../src/errors.js';
import type { HookedTransformer } from '../src/runtime/model.js';
import type { ReadPosition } from './vector.js';
import { vectorNorm } from './vector.js';
import { mulberry32 } from '../src/util/random.js';

/** One contrastive pair as token ids (BOS included per the model's TokenizerPolicy). */
export interface TokenPair {
  readonly positive: readonly number[];
  readonly negative: readonly number[];
}

/** Parses `--position`: last, mean, differing, from-first-difference, or an absolute token index. */
export function parseReadPosition(value: string): ReadPosition {
  switch (value) {
    case 'last':
    case 'mean':
    case 'differing':
    case 'from-first-difference':
      return { kind: value };
    default: {
      const n = Number(value);
      if (value.trim() !== '' && Number.isInteger(n) && n >= 0) return { kind: 'index', index: n };
      throw new UsageError(`--position ${value}: expected last, mean, differing, from-first-difference, or a token index`, 'pass e.g. --position last (CAA reads the answer token) or --position mean');
    }
  }
}

/** The `--position` spelling of a read position (recorded in vector.json). */
export function readPositionName(p: ReadPosition): string {
  return p.kind === 'index' ? String(p.index) : p.kind;
}

/**
 * Absolute token indices of `own` to read for a pair: `other` is the pair's other text (only the
 * pair-aware modes use it). Mean skips index 0 when it is BOS-like (the first token of every row
 * carries an attention-sink norm in most models, not content).
 */
export function readIndices(p: ReadPosition, own: readonly number[], other: readonly number[], where: string): number[] {
  const all = (from: number) => Array.from({ length: own.length - from }, (_, i) => from + i);
  switch (p.kind) {
    case 'last':
      return [own.length - 1];
    case 'mean':
      return all(own.length > 1 ? 1 : 0);
    case 'index':
      if (p.index >= own.length) throw new UsageError(`${where}: --position ${p.index} is past the text's ${own.length} tokens`, 'pick an index inside every text, or use --position last');
      return [p.index];
    case 'differing':
    case 'from-first-difference': {
      if (own.length !== other.length) throw new UsageError(`${where}: --position ${p.kind} needs token-aligned pairs, but the texts have ${own.length} and ${other.length} tokens`, 'use --position last or mean, or give pairs that differ only in a few same-length words');
      const differ = own.flatMap((t, i) => (t !== other[i] ? [i] : []));
      if (differ.length === 0) throw new UsageError(`${where}: the two texts are identical`, 'remove the pair, or fix the dataset');
      return p.kind === 'differing' ? differ : all(differ[0]);
    }
  }
}

/** Mean activation per text at the hook over the read indices: [texts, d], plus the mean ‖h‖ over every real non-BOS token read. */
export interface PooledActivations {
  /** [texts, d] */
  readonly pooled: Float32Array;
  /** Mean ‖h‖ over all real tokens except position 0 of every text (the scale `Nx-norm` refers to). */
  readonly meanNorm: number;
}

/**
 * Runs the model over `seqs` in batches of `batchSize` and pools the hook's activations of each
 * text over `indices[i]` (absolute positions, BOS = 0). Also accumulates the mean residual norm.
 */
export async function pooledActivations(model: HookedTransformer, hook: string, seqs: readonly (readonly number[])[], indices: readonly (readonly number[])[], batchSize = 16): Promise<PooledActivations> {
  const d = model.config.dModel;
  const pooled = new Float32Array(seqs.length * d);
  let normSum = 0;
  let normCount = 0;
  for (let start = 0; start < seqs.length; start += batchSize) {
    const rows = seqs.slice(start, start + batchSize);
    const batch = model.batch(rows);
    const out = await model.run(batch, { fetch: [hook], logits: false });
    const h = out.hooks.get(model.hook(hook).name);
    if (!h || h.shape[h.shape.length - 1] !== d) throw new ShapeMismatchError(`hook ${hook} is not a residual-width hook ([b, p, ${d}])`, 'read steering vectors at a hook of width d_model, e.g. blocks.2.hook_resid_pre');
    rows.forEach((seq, r) => {
      const base = r * batch.positions + batch.offsets[r];
      const acc = new Float64Array(d);
      for (const i of indices[start + r]) {
        for (let j = 0; j < d; j++) acc[j] += h.data[(base + i) * d + j];
      }
      const n = indices[start + r].length;
      for (let j = 0; j < d; j++) pooled[(start + r) * d + j] = acc[j] / n;
      for (let i = 1; i < seq.length; i++) {
        normSum += vectorNorm(h.data.subarray((base + i) * d, (base + i + 1) * d));
        normCount++;
      }
    });
  }
  return { pooled, meanNorm: normCount ? normSum / normCount : 0 };
}

/** Positive-minus-negative differences of a pair set at a hook, [n, d]. */
export interface PairDifferences {
  /** [n, d] */
  readonly diffs: Float32Array;
  readonly n: number;
  readonly d: number;
  /** Mean ‖h‖ at the hook over both texts of every pair (BOS excluded). */
  readonly meanNorm: number;
}

export async function pairDifferences(model: HookedTransformer, hook: string, pairs: readonly TokenPair[], position: ReadPosition, batchSize = 16): Promise<PairDifferences> {
  if (pairs.length === 0) throw new UsageError('no contrastive pairs given', 'give a JSONL file with {"positive", "negative"} per line, or tinyworld:pairs-happy-sad');
  const d = model.config.dModel;
  const pos = pairs.map((p, i) => readIndices(position, p.positive, p.negative, `pair ${i} (positive)`));
  const neg = pairs.map((p, i) => readIndices(position, p.negative, p.positive, `pair ${i} (negative)`));
  const a = await pooledActivations(model, hook, pairs.map((p) => p.positive), pos, batchSize);
  const b = await pooledActivations(model, hook, pairs.map((p) => p.negative), neg, batchSize);
  const diffs = new Float32Array(pairs.length * d);
  for (let k = 0; k < diffs.length; k++) diffs[k] = a.pooled[k] - b.pooled[k];
  return { diffs, n: pairs.length, d, meanNorm: (a.meanNorm + b.meanNorm) / 2 };
}

/** Mean of the pair differences (CAA's vector: E[h(pos) − h(neg)]). */
export function meanDifference(p: PairDifferences): Float32Array {
  const acc = new Float64Array(p.d);
  for (let i = 0; i < p.n; i++) for (let j = 0; j < p.d; j++) acc[j] += p.diffs[i * p.d + j];
  return Float32Array.from(acc, (x) => x / p.n);
}

/**
 * First principal component of the pair differences, *uncentred*: the top eigenvector of
 * DᵀD / n, by power iteration in float64. repeng centres the differences first, which removes
 * exactly the mean-difference signal a steering vector wants (FORMATS "Known pitfalls"). The sign
 * is chosen so that the mean projection of the differences is positive, and the vector is scaled
 * to that mean projection, so its norm is comparable to the mean-difference vector's.
 */
export function firstPrincipalComponent(p: PairDifferences, iterations = 200): { vector: Float32Array; explained: number } {
  const { diffs, n, d } = p;
  let u = Float64Array.from(meanDifference(p));
  if (vectorNorm(u) === 0) u = Float64Array.from({ length: d }, (_, j) => (j === 0 ? 1 : 0));
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += diffs[i * d + j] * u[j];
      for (let j = 0; j < d; j++) next[j] += dot * diffs[i * d + j];
    }
    const norm = vectorNorm(next);
    if (norm === 0) break;
    for (let j = 0; j < d; j++) next[j] /= norm;
    lambda = norm / n;
    let change = 0;
    for (let j = 0; j < d; j++) change = Math.max(change, Math.abs(next[j] - u[j]));
    u = next;
    if (change < 1e-10) break;
  }
  let meanProj = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let j = 0; j < d; j++) {
      dot += diffs[i * d + j] * u[j];
      total += diffs[i * d + j] ** 2;
    }
    meanProj += dot / n;
  }
  // Sign follows the mean projection; scale to its magnitude.
  return { vector: Float32Array.from(u, (x) => x * meanProj), explained: total > 0 ? (lambda * n) / total : 0 };
}

/** A random direction (seeded Gaussian) scaled to `norm`: the control for any steering effect. */
export function randomVector(d: number, norm: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const v = Float64Array.from({ length: d }, () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next()));
  const s = norm / vectorNorm(v);
  return Float32Array.from(v, (x) => x * s);
}

/** Row `latent` of an SAE decoder W_dec [d_sae, d_in] (one row per latent, SAELens layout). */
export function decoderRow(W_dec: Float32Array, dSae: number, dIn: number, latent: number): Float32Array {
  if (!Number.isInteger(latent) || latent < 0 || latent >= dSae) throw new UsageError(`latent ${latent} is outside the SAE's [0, ${dSae})`, `pass --latent between 0 and ${dSae - 1}`);
  return W_dec.slice(latent * dIn, (latent + 1) * dIn);
}
