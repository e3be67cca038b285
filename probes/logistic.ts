/**
 * L2-regularised logistic regression with scikit-learn's objective, solved by L-BFGS on the host
 * with the objective and gradient computed on the GPU engine.
 *
 * Vocabulary: n = training rows, d = activation width, K = binary problems (1 for a binary probe,
 * the number of classes for one-vs-rest).
 *
 * Objective per problem k (sklearn LogisticRegression, penalty="l2", intercept not penalised):
 *   f_k(w, b) = ½‖w‖² + C Σ_i log(1 + exp(−y_ik (wᵀx_i + b))),   y_ik ∈ {−1, +1}
 * We minimise f_k / (C·n), the mean loss plus ‖w‖²/(2Cn), as recent scikit-learn releases do
 * (linear_model/_logistic.py scales by the sample-weight sum; 1.2 still sums the loss): the same
 * optimum, O(1) values, and `tol` is scipy's pgtol on that mean-scaled objective. One-vs-rest solves the K problems jointly as
 * F = Σ_k f_k/(C·n): F is separable, so its optimum is the K independent optima, and each
 * iteration is one matmul X·W with W [d, K] instead of K matrix-vector products.
 *
 * Per evaluation only W and b go up (K·(d+1) floats) and F, ∇F come down; X [n, d] and the
 * targets T [n, K] (t = 1 for the positive class, else 0) are uploaded once.
 *   Z = X·Wᵀ + b                       [n, K]   (W [K, d], one row per problem)
 *   G = (σ(Z) − T)/n                   [n, K]   (log(1+e^−m) computed stably)
 *   ∇_W = W/(Cn) + Gᵀ·X                [K, d]
 *   ∇_b = Σ_i G_i                      [K]
 */
import type { Gpu, Tensor } from '../src/engine/index.js';
import { logisticEvaluator } from './kernels/logistic.js';
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
  /** Which GPU path computed the objective (kernels/logistic.ts). */
  readonly evaluator: 'engine' | 'fused';
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
 * ([n, K] in {0, 1}). Parameters θ = [W as K×d row-major, b as K] in float64 on the host; the
 * data term comes from the fastest GPU evaluator that applies (kernels/logistic.ts).
 */
export async function fitLogistic(gpu: Gpu, x: Tensor, t: Float32Array, k: number, options: LogisticOptions): Promise<LogisticFit> {
  const [n, d] = [x.shape[0], x.shape[1]];
  const { evaluator, targets } = logisticEvaluator(gpu, x, t, k);
  const l2 = 1 / (options.c * n);
  const w32 = new Float32Array(k * d);
  const b32 = new Float32Array(k);
  try {
    const objective = async (theta: Float64Array) => {
      w32.set(theta.subarray(0, k * d));
      b32.set(theta.subarray(k * d));
      const term = await evaluator.evaluate(w32, b32);
      let sq = 0;
      const grad = new Float64Array(theta.length);
      for (let i = 0; i < k * d; i++) {
        sq += theta[i] * theta[i];
        grad[i] = term.gradW[i] + l2 * theta[i];
      }
      for (let j = 0; j < k; j++) grad[k * d + j] = term.gradB[j];
      return { f: term.loss + 0.5 * l2 * sq, grad };
    };
    const result = await lbfgs(objective, new Float64Array(k * (d + 1)), { gtol: options.tol, maxIter: options.maxIter, onIteration: options.onIteration });
    return {
      weight: Float32Array.from(result.x.subarray(0, k * d)), bias: Float32Array.from(result.x.subarray(k * d)), k, d,
      iterations: result.iterations, evaluations: result.evaluations, stop: result.stop, gradMax: result.gradMax, objective: result.f, evaluator: evaluator.name,
    };
  } finally {
    evaluator.dispose();
    targets.dispose();
  }
}
