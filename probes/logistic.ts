/**
 * L2-regularised logistic regression with scikit-learn's objective, solved by L-BFGS on the host
 * with the objective and gradient computed on the GPU engine.
 *
 * Vocabulary: n = training rows, d = activation width, K = binary problems (1 for a binary probe,
 * the number of classes for one-vs-rest).
 *
 * Objective per problem k (sklearn LogisticRegression, penalty="l2", intercept not penalised):
 *   f_k(w, b) = ½‖w‖² + C Σ_i log(1 + exp(−y_ik (wᵀx_i + b))),   y_ik ∈ {−1, +1}
 * Like sklearn (linear_model/_logistic.py, since 1.1) we minimise f_k / (C·n), the mean loss plus
 * ‖w‖²/(2Cn): the same optimum, O(1) values, and `tol` then means what it means in sklearn
 * (scipy's pgtol on that scaled objective). One-vs-rest solves the K problems jointly as
 * F = Σ_k f_k/(C·n): F is separable, so its optimum is the K independent optima, and each
 * iteration is one matmul X·W with W [d, K] instead of K matrix-vector products.
 *
 * Per evaluation only W and b go up (K·(d+1) floats) and F, ∇F come down; X [n, d] and the
 * targets T [n, K] (t = 1 for the positive class, else 0) are uploaded once.
 *   Z = X·W + b                        [n, K]   (matmul with bias)
 *   G = (σ(Z) − T)/n                   [n, K]   (bce gradient; log(1+e^−m) computed stably there)
 *   ∇_W = W/(Cn) + Xᵀ·G                [d, K]
 *   ∇_b = Σ_i G_i                      [K]
 */
import { bce, matmul, reduce, scope, upload, type Gpu, type Tensor } from '../src/engine/index.js';
import { lbfgs, type LbfgsStop } from './lbfgs.js';

/** Options of `fitLogistic`; defaults in LOGISTIC_DEFAULTS. */
export interface LogisticOptions {
  /** Inverse regularisation strength (sklearn's C). */
  readonly c: number;
  /** Stop when max |∇| of the scaled objective ≤ tol (sklearn's tol). */
  readonly tol: number;
  /** Most L-BFGS iterations. */
  readonly maxIter: number;
  readonly onIteration?: (iteration: number, gradMax: number) => void;
}

/**
 * C = 1 and tol = 1e-4 are sklearn's defaults. max_iter is 1000, not sklearn's 100: on
 * activations (large, correlated features) lbfgs often needs several hundred iterations to reach
 * tol, and a probe stopped early differs from sklearn's optimum in direction, not just in loss.
 */
export const LOGISTIC_DEFAULTS = { c: 1, tol: 1e-4, maxIter: 1000 } as const;

/** A fitted linear map: score_k(x) = weight_k · x + bias_k. */
export interface LinearFit {
  /** [K, d] row-major, one row per problem. */
  readonly weight: Float32Array;
  /** [K] */
  readonly bias: Float32Array;
  readonly k: number;
  readonly d: number;
}

/** A logistic fit and how the optimiser ended. */
export interface LogisticFit extends LinearFit {
  readonly iterations: number;
  readonly evaluations: number;
  readonly stop: LbfgsStop;
  /** max |∇| of the scaled objective at the result. */
  readonly gradMax: number;
  /** The scaled objective F at the result. */
  readonly objective: number;
}

/** Targets T [n, K] for class indices y (−1 = no label is never passed here). */
export function oneVsRestTargets(y: Int32Array, k: number): Float32Array {
  const t = new Float32Array(y.length * k);
  if (k === 1) for (let i = 0; i < y.length; i++) t[i] = y[i] === 1 ? 1 : 0;
  else for (let i = 0; i < y.length; i++) t[i * k + y[i]] = 1;
  return t;
}

/**
 * Fits K logistic problems on the rows of `x` ([n, d] on the GPU, left alive) with targets `t`
 * ([n, K] in {0, 1}). Parameters θ = [W as d×K row-major, b as K] in float64 on the host.
 */
export async function fitLogistic(gpu: Gpu, x: Tensor, t: Float32Array, k: number, options: LogisticOptions): Promise<LogisticFit> {
  const [n, d] = [x.shape[0], x.shape[1]];
  const targets = upload(gpu, t, [n, k]);
  const w = upload(gpu, new Float32Array(d * k), [d, k]);
  const b = upload(gpu, new Float32Array(k), [k]);
  const l2 = 1 / (options.c * n);
  try {
    const objective = async (theta: Float64Array) => {
      w.write(theta.subarray(0, d * k));
      b.write(theta.subarray(d * k));
      const out = scope(() => {
        const z = matmul(x, w, { bias: b });
        // bce averages over n·K elements; scaling its gradient by K gives (σ − t)/n.
        const { loss, grad } = bce(z, targets, { grad: true, gradScale: k });
        const g = grad as Tensor;
        return { loss, gw: matmul(x, g, { transA: true }), gb: reduce(g, 'sum', 'cols') };
      });
      try {
        const [loss, gw, gb] = [await out.loss.download(), await out.gw.download(), await out.gb.download()];
        let sq = 0;
        const grad = new Float64Array(theta.length);
        for (let i = 0; i < d * k; i++) {
          sq += theta[i] * theta[i];
          grad[i] = gw[i] + l2 * theta[i];
        }
        for (let j = 0; j < k; j++) grad[d * k + j] = gb[j];
        return { f: k * loss[0] + 0.5 * l2 * sq, grad };
      } finally {
        out.loss.dispose(); out.gw.dispose(); out.gb.dispose();
      }
    };
    const result = await lbfgs(objective, new Float64Array(k * (d + 1)), { gtol: options.tol, maxIter: options.maxIter, onIteration: options.onIteration });
    const weight = new Float32Array(k * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) weight[j * d + i] = result.x[i * k + j];
    const bias = Float32Array.from(result.x.subarray(d * k));
    return { weight, bias, k, d, iterations: result.iterations, evaluations: result.evaluations, stop: result.stop, gradMax: result.gradMax, objective: result.f };
  } finally {
    targets.dispose(); w.dispose(); b.dispose();
  }
}
