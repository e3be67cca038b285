/**
 * Seeded randomness for probes: the train/test split by sequence, the control task of Hewitt &
 * Liang (2019), the shuffled-label sanity check and random directions. All deterministic per seed.
 */
import { mulberry32 } from '../src/util/random.js';

/**
 * Uniforms in [0, 1) for splits and probes' random baselines. The seed is mixed with the golden
 * ratio first, as this module always has, so that seeded splits stay the ones earlier runs made.
 */
export function rng(seed: number): () => number {
  return mulberry32((seed >>> 0) ^ 0x9e3779b9);
}

/** Standard normal draws (Box–Muller) from `next`. */
export function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Row indices of each side of a split. */
export interface Split {
  /** Rows whose sequence is in the training set, ascending. */
  readonly train: Int32Array;
  /** Rows of the other sequences, ascending; empty when the fraction is 1. */
  readonly test: Int32Array;
  readonly trainSequences: number;
  readonly testSequences: number;
}

/**
 * Splits rows by sequence, never by token: the distinct `seq` values are shuffled with `seed`
 * and the first round(fraction·S) go to train (at least one on each side when 0 < fraction < 1),
 * so two tokens of one prompt never sit on both sides.
 */
export function splitBySequence(seq: Int32Array, rows: Int32Array, fraction: number, seed: number): Split {
  const ids = [...new Set(Array.from(rows, (r) => seq[r]))].sort((a, b) => a - b);
  shuffleInPlace(ids, rng(seed));
  let nTrain = fraction >= 1 ? ids.length : Math.round(fraction * ids.length);
  if (fraction < 1 && ids.length >= 2) nTrain = Math.min(Math.max(nTrain, 1), ids.length - 1);
  const inTrain = new Set(ids.slice(0, nTrain));
  const train: number[] = [];
  const test: number[] = [];
  for (const r of rows) (inTrain.has(seq[r]) ? train : test).push(r);
  return { train: Int32Array.from(train), test: Int32Array.from(test), trainSequences: nTrain, testSequences: ids.length - nTrain };
}

/**
 * The control task of Hewitt & Liang (2019, "Designing and Interpreting Probes with Control
 * Tasks", §2): every token type (token id) of `rows` gets one label drawn at random from the label
 * distribution of `distributionRows` (the training rows); every occurrence of the type carries that label. A probe that scores
 * well on it memorises token identity rather than reading the property.
 */
export function controlLabels(tokenId: Int32Array, y: Int32Array, distributionRows: Int32Array, rows: Int32Array, seed: number): Int32Array {
  const next = rng(seed ^ 0x5bd1e995);
  const pool = Array.from(distributionRows, (r) => y[r]);
  const byType = new Map<number, number>();
  const out = new Int32Array(y.length).fill(-1);
  for (const r of rows) {
    let label = byType.get(tokenId[r]);
    if (label === undefined) byType.set(tokenId[r], (label = pool[Math.floor(next() * pool.length)]));
    out[r] = label;
  }
  return out;
}

/** A sanity control: the labels of `rows` permuted among those rows (seeded); a probe on it should be at chance. */
export function shuffledLabels(y: Int32Array, rows: Int32Array, seed: number): Int32Array {
  const values = shuffleInPlace(Array.from(rows, (r) => y[r]), rng(seed ^ 0x2545f491));
  const out = new Int32Array(y.length).fill(-1);
  rows.forEach((r, i) => { out[r] = values[i]; });
  return out;
}
