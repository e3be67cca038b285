import { describe, expect, it } from 'vitest';
import { ShapeMismatchError, UsageError } from '../../src/errors.js';
import { pca2 } from '../../src/report/pca.js';
import { lcg } from './demo-page.js';

/**
 * Brute-force reference: the d×d covariance in float64 and its full eigen-decomposition by the
 * classical Jacobi method (largest off-diagonal pivot each step, unlike the cyclic sweep in pca.ts).
 */
function referencePca(data: ArrayLike<number>, n: number, d: number): { values: number[]; vectors: number[][]; total: number; mean: number[] } {
  const mean = Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += data[i * d + j];
    return s / n;
  });
  const a = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) a[j][k] += ((data[i * d + j] - mean[j]) * (data[i * d + k] - mean[k])) / (n - 1);
  const total = a.reduce((s, row, j) => s + row[j], 0);
  const v = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (__, j): number => (i === j ? 1 : 0)));
  for (let step = 0; step < 100 * d * d; step++) {
    let p = 0;
    let q = 1;
    let big = 0;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) if (Math.abs(a[i][j]) > big) [big, p, q] = [Math.abs(a[i][j]), i, j];
    if (big < 1e-15 * Math.max(1e-300, total)) break;
    const phi = 0.5 * Math.atan2(2 * a[p][q], a[q][q] - a[p][p]);
    const c = Math.cos(phi);
    const s = Math.sin(phi);
    for (let k = 0; k < d; k++) [a[k][p], a[k][q]] = [c * a[k][p] - s * a[k][q], s * a[k][p] + c * a[k][q]];
    for (let k = 0; k < d; k++) [a[p][k], a[q][k]] = [c * a[p][k] - s * a[q][k], s * a[p][k] + c * a[q][k]];
    for (let k = 0; k < d; k++) [v[k][p], v[k][q]] = [c * v[k][p] - s * v[k][q], s * v[k][p] + c * v[k][q]];
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((x, y) => a[y][y] - a[x][x]);
  return { values: order.map((i) => a[i][i]), vectors: order.map((i) => v.map((row) => row[i])), total, mean };
}

/** n rows of a rank-3 signal with distinct scales plus small noise, offset by a large mean. */
function lowRankData(n: number, d: number, seed: number, offset = 0): Float32Array {
  const random = lcg(seed);
  const basis = Array.from({ length: 3 }, () => Array.from({ length: d }, () => random() - 0.5));
  const scales = [5, 2, 1];
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const coef = scales.map((s) => s * (random() - 0.5));
    for (let j = 0; j < d; j++) out[i * d + j] = offset + coef.reduce((sum, c, k) => sum + c * basis[k][j], 0) + 0.01 * (random() - 0.5);
  }
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function checkAgainstReference(data: Float32Array, n: number, d: number): void {
  const got = pca2(data, n, d);
  const ref = referencePca(data, n, d);
  expect(got.converged).toBe(true);
  for (let k = 0; k < 2; k++) {
    const component = got.components.subarray(k * d, (k + 1) * d);
    expect(Math.abs(dot(component, ref.vectors[k]))).toBeCloseTo(1, 8);
    expect(got.explainedVariance[k]).toBeCloseTo(ref.values[k], 8);
    expect(got.explainedVarianceRatio[k]).toBeCloseTo(ref.values[k] / ref.total, 8);
    // Coordinates are the centred rows projected on the reference component (up to its sign).
    const sign = Math.sign(dot(component, ref.vectors[k]));
    for (let i = 0; i < n; i++) {
      let expected = 0;
      for (let j = 0; j < d; j++) expected += (data[i * d + j] - ref.mean[j]) * ref.vectors[k][j];
      expect(got.coords[i * 2 + k]).toBeCloseTo(sign * expected, 5);
    }
  }
}

describe('pca2 against a brute-force eigen-decomposition', () => {
  it('low-rank data, n > d', () => checkAgainstReference(lowRankData(300, 12, 1), 300, 12));
  it('n < d (rank below the block size)', () => checkAgainstReference(lowRankData(5, 40, 2), 5, 40));
  it('a large mean offset (centring must be exact)', () => checkAgainstReference(lowRankData(200, 8, 3, 1e4), 200, 8));
  it('full-rank random data', () => {
    const random = lcg(4);
    checkAgainstReference(Float32Array.from({ length: 150 * 10 }, () => random()), 150, 10);
  });

  it('nearly equal top eigenvalues: the top-2 subspace is still exact', () => {
    const n = 400;
    const d = 6;
    const random = lcg(5);
    // Columns 0 and 1 with almost the same variance, the rest much smaller.
    const data = Float32Array.from({ length: n * d }, (_, i) => (random() - 0.5) * (i % d < 2 ? 10 : 1));
    const got = pca2(data, n, d);
    const ref = referencePca(data, n, d);
    // Compare projectors onto the plane: P = Σ v vᵀ over the two components.
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        const p = got.components[a] * got.components[b] + got.components[d + a] * got.components[d + b];
        const q = ref.vectors[0][a] * ref.vectors[0][b] + ref.vectors[1][a] * ref.vectors[1][b];
        expect(p).toBeCloseTo(q, 6);
      }
    }
  });
});

describe('pca2 edge cases', () => {
  it('is deterministic, with the largest entry of each component positive', () => {
    const data = lowRankData(100, 9, 6);
    const a = pca2(data, 100, 9);
    const b = pca2(data, 100, 9);
    expect(Array.from(a.coords)).toEqual(Array.from(b.coords));
    for (let k = 0; k < 2; k++) {
      const c = Array.from(a.components.subarray(k * 9, (k + 1) * 9));
      const largest = c.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
      expect(largest).toBeGreaterThan(0);
    }
  });

  it('one column: the second component is zero', () => {
    const got = pca2(Float32Array.from([1, 2, 3, 4]), 4, 1);
    expect(Array.from(got.components)).toEqual([1, 0]);
    expect(got.explainedVarianceRatio[0]).toBeCloseTo(1, 12);
    expect(got.explainedVarianceRatio[1]).toBe(0);
    expect(Array.from(got.coords)).toEqual([-1.5, 0, -0.5, 0, 0.5, 0, 1.5, 0]);
  });

  it('constant rows and a single row give zeros, not NaN', () => {
    for (const [data, n] of [[Float32Array.from([2, 3, 2, 3, 2, 3]), 3], [Float32Array.from([1, 2]), 1]] as const) {
      const got = pca2(data, n, 2);
      expect(Array.from(got.coords).every((x) => x === 0)).toBe(true);
      expect(got.explainedVarianceRatio).toEqual([0, 0]);
    }
  });

  it('rejects a wrong shape and non-finite values, naming the place', () => {
    expect(() => pca2(new Float32Array(5), 2, 3)).toThrow(ShapeMismatchError);
    const data = new Float32Array(6);
    data[4] = NaN;
    expect(() => pca2(data, 2, 3)).toThrow(UsageError);
    expect(() => pca2(data, 2, 3)).toThrow(/row 1, column 1/);
  });
});
