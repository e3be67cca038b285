/**
 * Per-hook statistics of a capture, exact over every stored row: float64 running sums that the
 * manifest keeps (HookSums), and the derived values readers want for normalisation and for the
 * explained-variance denominator E‖x‖² − ‖E x‖² = Σ_i Var(x_i) (FORMATS.md, "Metric formulas").
 *
 * Sums are taken over the values as stored (after f16 rounding when dtype is f16), so the numbers
 * describe the file, not the model's fp32 output.
 */
import type { HookSums } from './manifest.js';

/** Derived statistics of one hook over n rows. */
export interface HookStats {
  /** Rows n. */
  count: number;
  /** E‖x‖ (the quantity SAELens' normalize_activations="expected_average_only_in" scales by). */
  meanNorm: number;
  /** E‖x‖² */
  meanSqNorm: number;
  /** E x per dimension, [d]. */
  mean: Float64Array;
  /** Population variance per dimension, E x² − (E x)², [d]. */
  variance: Float64Array;
}

/** Adds n rows of one hook, `x` [n, d], to `sums` in row order. */
export function accumulate(sums: HookSums, x: Float32Array, d: number): void {
  const n = x.length / d;
  const { sum, sum_sq } = sums;
  // Plain arrays of doubles stay in V8's double-element mode, as fast as a Float64Array here.
  let sumNorm = sums.sum_norm;
  let sumSqNorm = sums.sum_sq_norm;
  for (let r = 0; r < n; r++) {
    const base = r * d;
    let sq = 0;
    for (let i = 0; i < d; i++) {
      const v = x[base + i];
      sum[i] += v;
      sum_sq[i] += v * v;
      sq += v * v;
    }
    sumNorm += Math.sqrt(sq);
    sumSqNorm += sq;
  }
  sums.sum_norm = sumNorm;
  sums.sum_sq_norm = sumSqNorm;
  sums.count += n;
}

/** Adds `part` into `total` (same d). */
export function mergeSums(total: HookSums, part: HookSums): void {
  total.count += part.count;
  total.sum_norm += part.sum_norm;
  total.sum_sq_norm += part.sum_sq_norm;
  for (let i = 0; i < total.sum.length; i++) {
    total.sum[i] += part.sum[i];
    total.sum_sq[i] += part.sum_sq[i];
  }
}

export function deriveStats(s: HookSums): HookStats {
  const n = s.count;
  const d = s.sum.length;
  const mean = new Float64Array(d);
  const variance = new Float64Array(d);
  if (n > 0) {
    for (let i = 0; i < d; i++) {
      const m = s.sum[i] / n;
      mean[i] = m;
      // Clamp the rounding residue of E x² − m² at zero: a variance is never negative.
      variance[i] = Math.max(0, s.sum_sq[i] / n - m * m);
    }
  }
  return {
    count: n,
    meanNorm: n > 0 ? s.sum_norm / n : 0,
    meanSqNorm: n > 0 ? s.sum_sq_norm / n : 0,
    mean,
    variance,
  };
}

/** Statistics as JSON for an Arrow schema's metadata (snake_case, like the manifest). */
export function statsJson(s: HookSums): Record<string, number | number[]> {
  const st = deriveStats(s);
  return {
    count: st.count,
    mean_norm: st.meanNorm,
    mean_sq_norm: st.meanSqNorm,
    mean: Array.from(st.mean),
    var: Array.from(st.variance),
  };
}
