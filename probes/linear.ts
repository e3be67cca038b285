/**
 * Linear-probe pieces around the logistic solver: input preprocessing, the difference-of-means
 * probe, scoring on the engine, and the random-direction baseline.
 *
 * Vocabulary: n = rows, d = activation width, K = logits per row (1 binary, classes for OvR),
 * R = random draws of the baseline.
 */
import { matmul, scope, upload, type Gpu, type Tensor } from '../src/engine/index.js';
import type { Preprocess } from './artifact.js';
import type { LinearFit } from './logistic.js';
import { gaussian, rng } from './split.js';

/** Per-dimension mean (and scale) fitted on training rows. */
export interface Preprocessing {
  readonly mode: Preprocess;
  /** [d], absent for 'none'. */
  readonly mean?: Float32Array;
  /** [d], only for 'standardize'. */
  readonly scale?: Float32Array;
}

/**
 * Fits the preprocessing on `x` ([n, d] training rows) in float64. The scale is the population
 * standard deviation as sklearn's StandardScaler; a constant dimension gets scale 1.
 */
export function fitPreprocessing(mode: Preprocess, x: Float32Array, d: number): Preprocessing {
  if (mode === 'none') return { mode };
  const n = x.length / d;
  const sum = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sum[j] += x[i * d + j];
  const mean = sum.map((s) => s / Math.max(n, 1));
  if (mode === 'center') return { mode, mean: Float32Array.from(mean) };
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) { const c = x[i * d + j] - mean[j]; sq[j] += c * c; }
  const scale = Float32Array.from(sq, (s) => { const sd = Math.sqrt(s / Math.max(n, 1)); return sd > 0 ? sd : 1; });
  return { mode, mean: Float32Array.from(mean), scale };
}

/** Applies preprocessing to [n, d] rows in place. */
export function applyPreprocessing(p: Preprocessing, x: Float32Array, d: number): Float32Array {
  if (!p.mean) return x;
  for (let i = 0; i < x.length; i++) {
    const j = i % d;
    x[i] = (x[i] - p.mean[j]) / (p.scale?.[j] ?? 1);
  }
  return x;
}

/**
 * Scores Z = X·Wᵀ + b ([n, K]) on the engine for `x` [n, d] already on the GPU and a fit with
 * weight [K, d]. Returns the scores on the host.
 */
export async function scoreOnGpu(gpu: Gpu, x: Tensor, fit: LinearFit): Promise<Float32Array> {
  const w = upload(gpu, fit.weight, [fit.k, fit.d]);
  const b = upload(gpu, fit.bias, [fit.k]);
  try {
    const z = matmul(x, w, { transB: true, bias: b });
    try {
      const out = await z.download();
      return out instanceof Float32Array ? out : Float32Array.from(out);
    } finally {
      z.dispose();
    }
  } finally {
    w.dispose(); b.dispose();
  }
}

/**
 * Difference-of-means (mass-mean) probe: class sums Yᵀ·X on the engine ([classes, d]), then
 * binary w = μ₁ − μ₀, or one-vs-rest w_c = μ_c − μ_rest(c); the bias puts the threshold at the
 * midpoint of the two means, b = −w·(μ_a + μ_b)/2 (Marks & Tegmark 2023, "The Geometry of Truth", §4).
 */
export async function fitMeanDiff(gpu: Gpu, x: Tensor, y: Int32Array, classes: number): Promise<LinearFit> {
  const [n, d] = [x.shape[0], x.shape[1]];
  const onehot = new Float32Array(n * classes);
  const counts = new Float64Array(classes);
  for (let i = 0; i < n; i++) { onehot[i * classes + y[i]] = 1; counts[y[i]]++; }
  const sumsT = scope(() => matmul(upload(gpu, onehot, [n, classes]), x, { transA: true }));
  const sums = await sumsT.download();
  sumsT.dispose();
  const total = new Float64Array(d);
  for (let c = 0; c < classes; c++) for (let j = 0; j < d; j++) total[j] += sums[c * d + j];
  const pairs: [number, number][] = classes === 2 ? [[1, 0]] : Array.from({ length: classes }, (_, c) => [c, -1]);
  const k = pairs.length;
  const weight = new Float32Array(k * d);
  const bias = new Float32Array(k);
  pairs.forEach(([a, b], row) => {
    const nA = Math.max(counts[a], 1);
    const nB = Math.max(b >= 0 ? counts[b] : n - counts[a], 1);
    let dot = 0;
    for (let j = 0; j < d; j++) {
      const muA = sums[a * d + j] / nA;
      const muB = (b >= 0 ? sums[b * d + j] : total[j] - sums[a * d + j]) / nB;
      weight[row * d + j] = muA - muB;
      dot += (muA - muB) * (muA + muB) / 2;
    }
    bias[row] = -dot;
  });
  return { weight, bias, k, d };
}

/** Fits a·p + b to binary targets with the logistic objective ½a² + C Σ log(1+exp(−y(a·p+b))) by Newton's method. */
function fit1d(p: Float64Array, t: Uint8Array, c: number): [number, number] {
  let a = 0;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    let ga = a / c, gb = 0, haa = 1 / c, hab = 0, hbb = 1e-12;
    for (let i = 0; i < p.length; i++) {
      const s = 1 / (1 + Math.exp(-(a * p[i] + b)));
      const r = s - t[i];
      const h = s * (1 - s);
      ga += r * p[i]; gb += r; haa += h * p[i] * p[i]; hab += h * p[i]; hbb += h;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da; b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return [a, b];
}

/**
 * The random-direction baseline. Each of R = `draws` draws takes K random unit directions
 * (seeded Gaussian, normalised), projects the rows on them on the engine, and fits a scale and a
 * bias per direction on the training rows with the probe's own objective (a 1-D logistic
 * regression, same C); accuracy is then measured like the probe's (sign for binary, argmax for
 * one-vs-rest) on the evaluation rows. Returns the mean accuracy over the draws.
 */
export async function randomBaseline(gpu: Gpu, train: { x: Tensor; y: Int32Array }, evaluate: { x: Tensor; y: Int32Array }, k: number, options: { seed: number; c: number; draws: number }): Promise<number> {
  const d = train.x.shape[1];
  const normal = gaussian(rng(options.seed ^ 0x68e31da4));
  const m = options.draws * k;
  const u = new Float32Array(m * d);
  for (let r = 0; r < m; r++) {
    let norm = 0;
    for (let j = 0; j < d; j++) { const v = normal(); u[r * d + j] = v; norm += v * v; }
    for (let j = 0; j < d; j++) u[r * d + j] /= Math.sqrt(norm);
  }
  const directions: LinearFit = { weight: u, bias: new Float32Array(m), k: m, d };
  const pTrain = await scoreOnGpu(gpu, train.x, directions);
  const pEval = await scoreOnGpu(gpu, evaluate.x, directions);
  let total = 0;
  for (let draw = 0; draw < options.draws; draw++) {
    const params: [number, number][] = [];
    for (let c = 0; c < k; c++) {
      const col = draw * k + c;
      const p = Float64Array.from(train.y, (_, i) => pTrain[i * m + col]);
      const t = Uint8Array.from(train.y, (v) => ((k === 1 ? v === 1 : v === c) ? 1 : 0));
      params.push(fit1d(p, t, options.c));
    }
    let hit = 0;
    evaluate.y.forEach((truth, i) => {
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < k; c++) {
        const s = params[c][0] * pEval[i * m + draw * k + c] + params[c][1];
        if (s > bestScore) { bestScore = s; best = c; }
      }
      if ((k === 1 ? (bestScore > 0 ? 1 : 0) : best) === truth) hit++;
    });
    total += hit / Math.max(evaluate.y.length, 1);
  }
  return total / options.draws;
}
