/**
 * Top-2 principal components of an activation matrix, for PCA scatter plots.
 *
 * Subspace (block power) iteration with a Rayleigh–Ritz step ("orthogonal iteration" in Golub &
 * Van Loan, "Matrix Computations") on the covariance operator C = Xcᵀ Xc, applied as Xcᵀ (Xc q)
 * so the d×d matrix is never formed (d may be 4096 or more). A block of p = 12 vectors, 10
 * more than the 2 we need (the oversampling of Halko, Martinsson & Tropp 2011, as scikit-learn's
 * randomized PCA), makes convergence depend on λ₁₃/λ₂ rather than on the λ₂/λ₃ gap. A nearly
 * flat spectrum still converges slowly (its top components are then not meaningful anyway):
 * iterations stop at `maxIterations` and the result says `converged: false`. All
 * arithmetic is float64 and the start block comes from a fixed-seed generator, so results are
 * deterministic. Centring is done per element as rows are read, so no centred copy is made.
 *
 * Shapes: n rows (samples), d columns (features); data is row-major [n, d].
 */
import { ShapeMismatchError, UsageError, assert } from '../errors.js';
import { mulberry32 } from '../util/random.js';

export interface Pca2Options {
  /** Stop after this many iterations even if not converged; default 200. */
  readonly maxIterations?: number;
  /** Converged when ‖C v − λ v‖ ≤ tolerance · λ₁ for both components; default 1e-8. */
  readonly tolerance?: number;
}

export interface Pca2 {
  /** Projections of each centred row on the two components, row-major [n, 2]. */
  readonly coords: Float64Array;
  /** The two unit-length components, row-major [2, d]; sign fixed so each one's largest-magnitude entry is positive. */
  readonly components: Float64Array;
  /** Per-column mean that was subtracted, [d]. */
  readonly mean: Float64Array;
  /** Variance along each component (covariance eigenvalues, n − 1 denominator). */
  readonly explainedVariance: readonly [number, number];
  /** explainedVariance over the total variance (0 when the data has no variance). */
  readonly explainedVarianceRatio: readonly [number, number];
  /** Iterations run and whether the tolerance was met. */
  readonly iterations: number;
  readonly converged: boolean;
}

const BLOCK = 12;

/** Uniforms in [−0.5, 0.5) for the start block. */
function generator(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => uniform() - 0.5;
}

/**
 * Orthonormalises the p vectors of length d in q (row-major [p, d]) in place by modified
 * Gram–Schmidt, done twice ("twice is enough", Giraud et al. 2005). A vector that collapses
 * (the data has rank below p) is replaced by a fresh random one.
 */
function orthonormalize(q: Float64Array, p: number, d: number, random: () => number): void {
  for (let k = 0; k < p; k++) {
    const v = q.subarray(k * d, (k + 1) * d);
    for (let attempt = 0; ; attempt++) {
      const before = norm(v);
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < k; j++) {
          const u = q.subarray(j * d, (j + 1) * d);
          const dot = dotProduct(u, v);
          for (let i = 0; i < d; i++) v[i] -= dot * u[i];
        }
      }
      const after = norm(v);
      if (after > 1e-10 * before && after > 0) {
        for (let i = 0; i < d; i++) v[i] /= after;
        break;
      }
      assert(attempt < 8, () => `pca: could not complete an orthonormal block of ${p} in dimension ${d}`);
      for (let i = 0; i < d; i++) v[i] = random();
    }
  }
}

function dotProduct(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dotProduct(a, a));
}

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi; returns descending eigenvalues and column eigenvectors. */
export function symmetricEigen(matrix: Float64Array, p: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(p * p);
  for (let i = 0; i < p; i++) v[i * p + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) off += a[i * p + j] ** 2;
    if (off < 1e-30 * Math.max(1e-300, a.reduce((s, x) => s + x * x, 0))) break;
    for (let i = 0; i < p; i++) {
      for (let j = i + 1; j < p; j++) {
        const aij = a[i * p + j];
        if (aij === 0) continue;
        const theta = (a[j * p + j] - a[i * p + i]) / (2 * aij);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < p; k++) {
          const aki = a[k * p + i];
          const akj = a[k * p + j];
          a[k * p + i] = c * aki - s * akj;
          a[k * p + j] = s * aki + c * akj;
        }
        for (let k = 0; k < p; k++) {
          const aik = a[i * p + k];
          const ajk = a[j * p + k];
          a[i * p + k] = c * aik - s * ajk;
          a[j * p + k] = s * aik + c * ajk;
        }
        for (let k = 0; k < p; k++) {
          const vki = v[k * p + i];
          const vkj = v[k * p + j];
          v[k * p + i] = c * vki - s * vkj;
          v[k * p + j] = s * vki + c * vkj;
        }
      }
    }
  }
  const order = Array.from({ length: p }, (_, i) => i).sort((x, y) => a[y * p + y] - a[x * p + x]);
  const values = Float64Array.from(order, (i) => a[i * p + i]);
  const vectors = new Float64Array(p * p);
  order.forEach((src, dst) => {
    for (let k = 0; k < p; k++) vectors[k * p + dst] = v[k * p + src];
  });
  return { values, vectors };
}

function validate(data: ArrayLike<number>, n: number, d: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1 || data.length !== n * d) {
    throw new ShapeMismatchError(
      `pca2: data must hold n × d = ${n} × ${d} = ${n * d} values, got ${data.length}`,
      'pass the row-major [n, d] matrix with its row count n and column count d',
    );
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new UsageError(
        `pca2: value at row ${Math.floor(i / d)}, column ${i % d} is ${data[i]}`,
        'remove or repair rows with NaN or infinite activations before the PCA',
      );
    }
  }
}

export function pca2(data: Float32Array | Float64Array, n: number, d: number, options: Pca2Options = {}): Pca2 {
  validate(data, n, d);
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-8;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const row = new Float64Array(d);
  const centredRow = (i: number): Float64Array => {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j] - mean[j];
    return row;
  };
  let totalSquares = 0;
  for (let i = 0; i < n; i++) totalSquares += dotProduct(centredRow(i), row);

  const p = Math.min(BLOCK, d);
  const random = generator(0x1234abcd);
  let q: Float64Array = Float64Array.from({ length: p * d }, random);
  orthonormalize(q, p, d, random);
  const z = new Float64Array(p * d);
  const proj = new Float64Array(p);
  /** z = C q for the block, C = Xcᵀ Xc: one pass over the rows. */
  const applyCovariance = (): void => {
    z.fill(0);
    for (let i = 0; i < n; i++) {
      const x = centredRow(i);
      for (let k = 0; k < p; k++) proj[k] = dotProduct(x, q.subarray(k * d, (k + 1) * d));
      for (let k = 0; k < p; k++) {
        const a = proj[k];
        if (a === 0) continue;
        const off = k * d;
        for (let j = 0; j < d; j++) z[off + j] += a * x[j];
      }
    }
  };

  let values: Float64Array = new Float64Array(p);
  let ritz: Float64Array = new Float64Array(p * d); // Ritz vectors V = Q W, [p, d]
  let converged = totalSquares === 0;
  let iterations = 0;
  while (!converged && iterations < maxIterations) {
    iterations++;
    applyCovariance();
    // Rayleigh–Ritz: T = Qᵀ C Q, T = W Λ Wᵀ; V = Q W, C V = Z W.
    const t = new Float64Array(p * p);
    for (let a = 0; a < p; a++) {
      for (let b = a; b < p; b++) {
        const s = dotProduct(q.subarray(a * d, (a + 1) * d), z.subarray(b * d, (b + 1) * d));
        t[a * p + b] = s;
        t[b * p + a] = s;
      }
    }
    const eig = symmetricEigen(t, p);
    values = eig.values;
    ritz = new Float64Array(p * d);
    const next = new Float64Array(p * d); // Z W: the next block, ordered by eigenvalue
    for (let k = 0; k < p; k++) {
      for (let m = 0; m < p; m++) {
        const w = eig.vectors[m * p + k];
        if (w === 0) continue;
        for (let j = 0; j < d; j++) {
          ritz[k * d + j] += w * q[m * d + j];
          next[k * d + j] += w * z[m * d + j];
        }
      }
    }
    const scale = Math.max(values[0], Number.MIN_VALUE);
    converged = [0, 1].slice(0, Math.min(2, p)).every((k) => {
      let r = 0;
      for (let j = 0; j < d; j++) r += (next[k * d + j] - values[k] * ritz[k * d + j]) ** 2;
      return Math.sqrt(r) <= tolerance * scale;
    });
    if (!converged) {
      orthonormalize(next, p, d, random);
      q = next;
    }
  }

  const components = new Float64Array(2 * d);
  const variance: [number, number] = [0, 0];
  if (totalSquares > 0) {
    for (let k = 0; k < Math.min(2, p); k++) {
      const v = ritz.subarray(k * d, (k + 1) * d);
      let largest = 0;
      for (let j = 0; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[largest])) largest = j;
      const sign = v[largest] < 0 ? -1 : 1;
      for (let j = 0; j < d; j++) components[k * d + j] = sign * v[j];
      variance[k] = Math.max(0, values[k]) / Math.max(1, n - 1);
    }
  }
  const coords = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const x = centredRow(i);
    coords[i * 2] = dotProduct(x, components.subarray(0, d));
    coords[i * 2 + 1] = dotProduct(x, components.subarray(d, 2 * d));
  }
  const total = totalSquares / Math.max(1, n - 1);
  const ratio: [number, number] = total > 0 ? [variance[0] / total, variance[1] / total] : [0, 0];
  return { coords, components, mean, explainedVariance: variance, explainedVarianceRatio: ratio, iterations, converged };
}
