/**
 * Histogram binning, done in Node so that a page carries bin counts rather than every sample
 * (an SAE latent's activation histogram may summarise millions of tokens).
 */
import { UsageError } from '../errors.js';

export interface HistogramOptions {
  /** Number of equal-width bins; default: Sturges' rule, ceil(log2 n) + 1, clamped to [1, 100]. */
  readonly bins?: number;
  /** [low, high] range; default: the finite minimum and maximum. Values outside are counted apart. */
  readonly range?: readonly [number, number];
}

export interface Histogram {
  /** Bin edges, length bins + 1; bin i is [edges[i], edges[i+1]), the last bin closed on the right (as numpy). */
  readonly edges: Float64Array;
  /** Count per bin, length bins. */
  readonly counts: Float64Array;
  /** Finite values below / above the range. */
  readonly underflow: number;
  readonly overflow: number;
  /** NaN and ±Infinity values, which no bin holds. */
  readonly nonFinite: number;
  /** Values counted in bins. */
  readonly total: number;
}

export function histogram(values: ArrayLike<number>, options: HistogramOptions = {}): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  let finite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    finite++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (options.range) {
    [lo, hi] = options.range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
      throw new UsageError(`histogram range must be finite with low < high, got [${lo}, ${hi}]`, 'pass range: [low, high] with low < high, or leave it out');
    }
  } else if (finite === 0) {
    lo = 0;
    hi = 1;
  } else if (lo === hi) {
    // All values equal: centre a unit-wide range on them, as numpy.histogram does, widened to
    // a few ulps where ±0.5 would round away (|v| past 2^52).
    const pad = Math.max(0.5, Math.abs(lo) * 1e-15);
    lo = Math.max(lo - pad, -Number.MAX_VALUE);
    hi = Math.min(hi + pad, Number.MAX_VALUE);
  }
  const bins = options.bins ?? Math.min(100, Math.max(1, Math.ceil(Math.log2(Math.max(finite, 1))) + 1));
  if (!Number.isInteger(bins) || bins < 1) {
    throw new UsageError(`histogram bins must be a positive integer, got ${bins}`, 'pass bins: a whole number such as 50');
  }
  // The width can overflow (±1e308) or be subnormal; halve both ends when it overflows, and
  // divide (never multiply by bins / width, which is infinite for a subnormal width).
  const halved = !Number.isFinite(hi - lo);
  const width = halved ? hi / 2 - lo / 2 : hi - lo;
  const fraction = (v: number): number => (halved ? v / 2 - lo / 2 : v - lo) / width;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) edges[i] = halved ? lo + 2 * (width * (i / bins)) : lo + width * (i / bins);
  edges[bins] = hi;
  const counts = new Float64Array(bins);
  let underflow = 0;
  let overflow = 0;
  let nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) nonFinite++;
    else if (v < lo) underflow++;
    else if (v > hi) overflow++;
    else {
      let b = Math.min(bins - 1, Math.floor(fraction(v) * bins));
      // Rounding can put a value near an edge a bin off; the edges decide.
      while (b > 0 && v < edges[b]) b--;
      while (b < bins - 1 && v >= edges[b + 1]) b++;
      counts[b]++;
    }
  }
  return { edges, counts, underflow, overflow, nonFinite, total: values.length - underflow - overflow - nonFinite };
}
