/**
 * Plain TypeScript float64 references of every engine kernel: loops written for clarity, used by
 * the tests (GPU against reference) and by the finite-difference gradient checks. Matrices are
 * row-major arrays with their sizes passed beside them, in the kernels' argument order
 * (outputs are returned; inputs, then sizes).
 */

type Arr = ArrayLike<number>;

/** C[m, n] = op(A)·op(B) (+ bias[n]); A is [m, k] or, transposed, [k, m]; B is [k, n] or [n, k]. */
export function matmulRef(a: Arr, b: Arr, m: number, k: number, n: number, transA = false, transB = false, bias?: Arr): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let q = 0; q < k; q++) s += (transA ? a[q * m + i] : a[i * k + q]) * (transB ? b[j * k + q] : b[q * n + j]);
      c[i * n + j] = s;
    }
  }
  return c;
}

/** Unary ops in UNARY_OPS order. */
export function unaryRef(op: string, x: Arr, alpha = 1, beta = 0): Float64Array {
  const f: Record<string, (v: number) => number> = {
    neg: (v) => -v, exp: Math.exp, log: Math.log, sqrt: Math.sqrt, square: (v) => v * v, abs: Math.abs,
    affine: (v) => alpha * v + beta, sigmoid: (v) => 1 / (1 + Math.exp(-v)), tanh: Math.tanh,
  };
  return Float64Array.from(x, f[op]);
}

/** a ∘ b with b of a's size, a row vector [cols], or a scalar. */
export function binaryRef(op: string, a: Arr, b: Arr, cols: number): Float64Array {
  const f: Record<string, (x: number, z: number) => number> = {
    add: (x, z) => x + z, sub: (x, z) => x - z, mul: (x, z) => x * z, div: (x, z) => x / z, max: Math.max, min: Math.min,
  };
  return Float64Array.from(a, (x, i) => f[op](x, b.length === a.length ? b[i] : b.length === 1 ? b[0] : b[i % cols]));
}

/** Row ('rows': out [rows]) or column ('cols': out [cols]) reductions of [rows, cols]. */
export function reduceRef(x: Arr, rows: number, cols: number, op: string, axis: 'rows' | 'cols'): Float64Array {
  const outer = axis === 'rows' ? rows : cols;
  const inner = axis === 'rows' ? cols : rows;
  const out = new Float64Array(outer);
  for (let o = 0; o < outer; o++) {
    let acc = op === 'max' ? -Infinity : 0;
    for (let q = 0; q < inner; q++) {
      const v = axis === 'rows' ? x[o * cols + q] : x[q * cols + o];
      acc = op === 'max' ? Math.max(acc, v) : op === 'norm' ? acc + v * v : acc + v;
    }
    out[o] = op === 'mean' ? acc / inner : op === 'norm' ? Math.sqrt(acc) : acc;
  }
  return out;
}

/** softmax (log = false) or log-softmax (log = true) along rows. */
export function softmaxRef(x: Arr, rows: number, cols: number, log = false): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let c = 0; c < cols; c++) mx = Math.max(mx, x[r * cols + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c] - mx);
    for (let c = 0; c < cols; c++) out[r * cols + c] = log ? x[r * cols + c] - mx - Math.log(s) : Math.exp(x[r * cols + c] - mx) / s;
  }
  return out;
}

/** Row-wise top-k: values descending, ties to the lower index. */
export function topkRef(x: Arr, rows: number, cols: number, k: number): { values: Float64Array; indices: Uint32Array } {
  const values = new Float64Array(rows * k);
  const indices = new Uint32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: cols }, (_, c) => c).sort((a, b) => x[r * cols + b] - x[r * cols + a] || a - b);
    for (let j = 0; j < k; j++) {
      values[r * k + j] = x[r * cols + order[j]];
      indices[r * k + j] = order[j];
    }
  }
  return { values, indices };
}

/** Batch-wide top-k: keeps x ≥ the (k·rows)-th largest value; returns the kept values and threshold. */
export function batchTopkRef(x: Arr, rows: number, k: number): { values: Float64Array; threshold: number } {
  const sorted = Array.from(x).sort((a, b) => b - a);
  const threshold = sorted[Math.min(k * rows, x.length) - 1];
  return { values: Float64Array.from(x, (v) => (v >= threshold ? v : 0)), threshold };
}

/** y[b, :] = Σ_j vals[b, j] · W[idx[b, j], :]. */
export function gatherDecodeRef(vals: Arr, idx: Arr, w: Arr, batch: number, k: number, dIn: number): Float64Array {
  const y = new Float64Array(batch * dIn);
  for (let b = 0; b < batch; b++) for (let j = 0; j < k; j++) for (let c = 0; c < dIn; c++) y[b * dIn + c] += vals[b * k + j] * w[idx[b * k + j] * dIn + c];
  return y;
}

/** Backward of gatherDecode: dvals and dW (dense here, zero in unselected rows). */
export function gatherDecodeBackwardRef(dy: Arr, vals: Arr, idx: Arr, w: Arr, batch: number, k: number, dSae: number, dIn: number): { dVals: Float64Array; dW: Float64Array } {
  const dVals = new Float64Array(batch * k);
  const dW = new Float64Array(dSae * dIn);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < k; j++) {
      const r = idx[b * k + j];
      for (let c = 0; c < dIn; c++) {
        dVals[b * k + j] += dy[b * dIn + c] * w[r * dIn + c];
        dW[r * dIn + c] += vals[b * k + j] * dy[b * dIn + c];
      }
    }
  }
  return { dVals, dW };
}

/** JumpReLU forward with per-column thresholds θ. */
export function jumpreluRef(x: Arr, theta: Arr, cols: number): Float64Array {
  return Float64Array.from(x, (v, i) => (v > theta[i % cols] ? v : 0));
}

/** The straight-through threshold gradient of JumpReLU (see activations.wgsl). */
export function jumpreluThresholdGradRef(dy: Arr, x: Arr, theta: Arr, rows: number, cols: number, eps: number): Float64Array {
  const out = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) if (Math.abs(x[r * cols + c] - theta[c]) < eps / 2) s += dy[r * cols + c];
    out[c] = -(theta[c] / eps) * s;
  }
  return out;
}

/** Mean squared error. */
export function mseRef(pred: Arr, target: Arr): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
  return s / pred.length;
}

/** Binary cross-entropy with logits, averaged. */
export function bceRef(z: Arr, y: Arr): number {
  let s = 0;
  for (let i = 0; i < z.length; i++) s += Math.max(z[i], 0) - z[i] * y[i] + Math.log1p(Math.exp(-Math.abs(z[i])));
  return s / z.length;
}

/** One Adam / AdamW step on copies; returns the new param, m and v. */
export function adamRef(param: Arr, grad: Arr, m: Arr, v: Arr, t: number, o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean }): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const p2 = Float64Array.from(param);
  const m2 = Float64Array.from(m);
  const v2 = Float64Array.from(v);
  for (let i = 0; i < p2.length; i++) {
    let g = grad[i];
    if (o.decoupled) p2[i] -= o.lr * o.weightDecay * p2[i];
    else g += o.weightDecay * p2[i];
    m2[i] = o.beta1 * m2[i] + (1 - o.beta1) * g;
    v2[i] = o.beta2 * v2[i] + (1 - o.beta2) * g * g;
    p2[i] -= (o.lr * (m2[i] / (1 - o.beta1 ** t))) / (Math.sqrt(v2[i] / (1 - o.beta2 ** t)) + o.eps);
  }
  return { param: p2, m: m2, v: v2 };
}

/** Unit-norm rows or columns; returns the normalised matrix and the norms. */
export function normalizeRef(x: Arr, rows: number, cols: number, axis: 'rows' | 'cols', eps = 1e-12): { x: Float64Array; norms: Float64Array } {
  const norms = reduceRef(x, rows, cols, 'norm', axis);
  const out = Float64Array.from(x, (v, i) => v / Math.max(norms[axis === 'rows' ? Math.floor(i / cols) : i % cols], eps));
  return { x: out, norms };
}

/** Central finite difference of a scalar function f at x along coordinate i. */
export function finiteDifference(f: (x: Float64Array) => number, x: Float64Array, i: number, h = 1e-6): number {
  const plus = Float64Array.from(x);
  const minus = Float64Array.from(x);
  plus[i] += h;
  minus[i] -= h;
  return (f(plus) - f(minus)) / (2 * h);
}
