/**
 * Limited-memory BFGS on the host in float64 (Nocedal & Wright, Numerical Optimization, 2nd ed.,
 * Algorithm 7.4 two-loop recursion and Algorithm 7.5 L-BFGS), for small parameter vectors whose
 * objective is expensive and evaluated elsewhere (here: on the GPU engine). Only the parameters
 * (d+1 or K·(d+1) numbers) live on the host; each evaluation returns (f, ∇f).
 *
 * The line search enforces the weak Wolfe conditions (N&W eq. 3.6: sufficient decrease with
 * c1 = 1e-4, curvature with c2 = 0.9) by bracketing with safeguarded cubic interpolation
 * (N&W eq. 3.59). Because the GPU sums the loss in float32, f carries relative noise near 1e-7:
 * close to the optimum a true decrease can be invisible. The search therefore also accepts the
 * approximate Wolfe conditions of Hager & Zhang (2005, eq. 23/CG_DESCENT): φ(α) ≤ φ(0) + ε|φ(0)|
 * and (2c1 − 1)φ'(0) ≥ φ'(α) ≥ c2 φ'(0), which rely on the gradient, still accurate there.
 *
 * Stopping follows scipy's L-BFGS-B as scikit-learn calls it: max |∇f|_∞ ≤ gtol (sklearn's `tol`,
 * on its objective scaled by 1/(C·n), see logistic.ts), or maxIter iterations, or a line search
 * that can no longer make progress (reported, never silent).
 */

/** f and ∇f at a point; `grad` has the point's length. */
export interface Evaluation {
  readonly f: number;
  readonly grad: Float64Array;
}

/** The objective: may run on the GPU, hence async. */
export type Objective = (x: Float64Array) => Promise<Evaluation>;

/** Options of `lbfgs`. */
export interface LbfgsOptions {
  /** Stop when max_i |∇f_i| ≤ gtol (scipy's pgtol; sklearn passes its `tol`, default 1e-4). */
  readonly gtol: number;
  /** Most iterations (sklearn's default is 100; probes use 1000, see logistic.ts). */
  readonly maxIter: number;
  /** Correction pairs kept (scipy's maxcor default: 10). */
  readonly memory?: number;
  /** Most function evaluations per line search (scipy's maxls default: 20). */
  readonly maxLineSearch?: number;
  /** Called after each iteration with the iteration count and max |∇f|. */
  readonly onIteration?: (iteration: number, gradMax: number) => void;
}

/** Why `lbfgs` stopped. */
export type LbfgsStop =
  /** max |∇f| ≤ gtol. */
  | 'converged'
  /** maxIter iterations were spent. */
  | 'max_iter'
  /** No step satisfied the (approximate) Wolfe conditions: the optimum is reached to the precision of f. */
  | 'line_search';

/** Result of `lbfgs`. */
export interface LbfgsResult {
  readonly x: Float64Array;
  readonly f: number;
  /** max |∇f| at x. */
  readonly gradMax: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly stop: LbfgsStop;
}

const C1 = 1e-4;
const C2 = 0.9;
/** Relative slack on f for the approximate Wolfe test (a few float32 ulps of the summed loss). */
const F_NOISE = 1e-6;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** N&W Algorithm 7.4: r = H_k·g from the stored pairs (s_i, y_i), with H_0 = γ I. */
function twoLoop(g: Float64Array, s: Float64Array[], y: Float64Array[], rho: number[]): Float64Array {
  const q = Float64Array.from(g);
  const alpha = new Array<number>(s.length);
  for (let i = s.length - 1; i >= 0; i--) {
    alpha[i] = rho[i] * dot(s[i], q);
    for (let j = 0; j < q.length; j++) q[j] -= alpha[i] * y[i][j];
  }
  const last = s.length - 1;
  const gamma = last >= 0 ? dot(s[last], y[last]) / dot(y[last], y[last]) : 1; // N&W eq. 7.20
  for (let j = 0; j < q.length; j++) q[j] *= gamma;
  for (let i = 0; i < s.length; i++) {
    const beta = rho[i] * dot(y[i], q);
    for (let j = 0; j < q.length; j++) q[j] += s[i][j] * (alpha[i] - beta);
  }
  return q;
}

/** Minimiser of the cubic through (a, fa, da) and (b, fb, db), kept inside the middle 80% of [a, b] (N&W eq. 3.59). */
function cubicStep(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  let t = (lo + hi) / 2;
  if (disc >= 0) {
    const d2 = Math.sign(b - a) * Math.sqrt(disc);
    const c = b - (b - a) * ((db + d2 - d1) / (db - da + 2 * d2));
    if (Number.isFinite(c)) t = c;
  }
  const margin = 0.1 * (hi - lo);
  return Math.min(Math.max(t, lo + margin), hi - margin);
}

interface Point {
  readonly alpha: number;
  readonly f: number;
  /** φ'(α) = ∇f(x + αp)·p */
  readonly slope: number;
  readonly ev: Evaluation;
}

/** Finds α satisfying the (approximate) weak Wolfe conditions along p, or null. */
async function lineSearch(fn: Objective, x: Float64Array, p: Float64Array, f0: number, slope0: number, alpha0: number, maxEvals: number): Promise<{ point: Point | null; evals: number }> {
  const trial = new Float64Array(x.length);
  let lo: Point = { alpha: 0, f: f0, slope: slope0, ev: { f: f0, grad: new Float64Array(0) } };
  let hi: Point | null = null;
  let alpha = alpha0;
  for (let evals = 1; evals <= maxEvals; evals++) {
    for (let i = 0; i < x.length; i++) trial[i] = x[i] + alpha * p[i];
    const ev = await fn(trial);
    const point: Point = { alpha, f: ev.f, slope: dot(ev.grad, p), ev };
    const armijo = ev.f <= f0 + C1 * alpha * slope0;
    const approx = ev.f <= f0 + F_NOISE * Math.abs(f0) && point.slope <= (2 * C1 - 1) * slope0;
    if (!Number.isFinite(ev.f) || !(armijo || approx) || ev.f > lo.f + F_NOISE * Math.abs(f0)) {
      hi = point; // too long: the minimum along p lies between lo and this point
    } else if (point.slope < C2 * slope0) {
      lo = point; // still descending steeply: go further
    } else {
      return { point, evals };
    }
    alpha = hi ? cubicStep(lo.alpha, lo.f, lo.slope, hi.alpha, Number.isFinite(hi.f) ? hi.f : lo.f + 1e10, Number.isFinite(hi.slope) ? hi.slope : 1e10) : alpha * 4;
    if (hi && Math.abs(hi.alpha - lo.alpha) <= 1e-12 * Math.max(1, lo.alpha)) return { point: null, evals };
  }
  return { point: null, evals: maxEvals };
}

/** Minimises `fn` from `x0` (N&W Algorithm 7.5). */
export async function lbfgs(fn: Objective, x0: Float64Array, options: LbfgsOptions): Promise<LbfgsResult> {
  const memory = options.memory ?? 10;
  const maxLs = options.maxLineSearch ?? 20;
  let x = Float64Array.from(x0);
  let ev = await fn(x);
  let evaluations = 1;
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  for (let iter = 0; ; iter++) {
    const gradMax = maxAbs(ev.grad);
    if (gradMax <= options.gtol) return { x, f: ev.f, gradMax, iterations: iter, evaluations, stop: 'converged' };
    if (iter >= options.maxIter) return { x, f: ev.f, gradMax, iterations: iter, evaluations, stop: 'max_iter' };
    let p = twoLoop(ev.grad, s, y, rho).map((v) => -v);
    let slope = dot(ev.grad, p);
    if (!(slope < 0)) {
      // Not a descent direction (lost curvature information): restart from steepest descent.
      s.length = y.length = rho.length = 0;
      p = ev.grad.map((v) => -v);
      slope = dot(ev.grad, p);
    }
    // First step: scale so that the first trial moves by at most 1 in norm (scipy does the same).
    const alpha0 = s.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(ev.grad, ev.grad))) : 1;
    let { point, evals } = await lineSearch(fn, x, p, ev.f, slope, alpha0, maxLs);
    evaluations += evals;
    if (!point && s.length > 0) {
      // The quasi-Newton direction may be poor after curvature pairs from far away: drop them and
      // try steepest descent before giving up, as scipy's L-BFGS-B does on a failed line search
      // (lbfgsb.f: "refresh the lbfgs memory and restart the iteration").
      s.length = y.length = rho.length = 0;
      p = ev.grad.map((v) => -v);
      slope = dot(ev.grad, p);
      ({ point, evals } = await lineSearch(fn, x, p, ev.f, slope, Math.min(1, 1 / Math.sqrt(dot(ev.grad, ev.grad))), maxLs));
      evaluations += evals;
    }
    if (!point) return { x, f: ev.f, gradMax, iterations: iter, evaluations, stop: 'line_search' };
    const xNew = x.map((v, i) => v + point.alpha * p[i]);
    const sk = xNew.map((v, i) => v - x[i]);
    const yk = point.ev.grad.map((v, i) => v - ev.grad[i]);
    const sy = dot(sk, yk);
    // Keep the pair only when it carries positive curvature (guaranteed by Wolfe up to rounding).
    if (sy > 1e-10 * dot(yk, yk)) {
      if (s.length === memory) { s.shift(); y.shift(); rho.shift(); }
      s.push(sk); y.push(yk); rho.push(1 / sy);
    }
    x = xNew;
    ev = point.ev;
    options.onIteration?.(iter + 1, maxAbs(ev.grad));
  }
}
