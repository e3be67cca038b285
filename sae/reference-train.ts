/**
 * Float64 reference of one training step's loss and gradients, for every variant: plain loops,
 * no GPU, written from the papers' equations. Tests compare the engine step (step.ts) with it,
 * and it with finite differences. Shapes: x [B, d], W_enc [d, m], W_dec [m, d], b_enc [m],
 * b_dec [d], logThreshold [m] (JumpReLU: θ = exp(log θ), as SAELens parameterises it).
 *
 * Loss (per token, averaged over the batch; MSE summed over d as SAELens and FORMATS.md):
 *   pre = (x − b_dec) W_enc + b_enc,  x̂ = f W_dec + b_dec,  mse = (1/B) Σ_b ‖x_b − x̂_b‖²
 *   relu:      f = max(pre, 0);        sparsity = (λ/B) Σ_b Σ_i f_bi ‖W_dec,i‖   (April 2024)
 *   jumprelu:  f = pre · H(pre − θ);   sparsity = (λ/B) Σ_b Σ_i H(pre_bi − θ_i)  (L0; STE for θ)
 *   topk:      f = max(top-k of pre per row, 0)                                  (Gao et al. 2024)
 *   batchtopk: f = max(pre, 0) kept where it is among the k·B largest of the batch (Bussmann et al.)
 *   AuxK (topk, batchtopk; Gao et al. 2024 A.2): with D dead latents, k' = min(kAux, D),
 *     ê_b = Σ_{i ∈ top-k' dead of pre_b} pre_bi W_dec,i (raw pre-activations, no bias, as sparsify),
 *     aux = α · min(D / kAux, 1) · (1/B) Σ_b ‖ê_b − (x_b − x̂_b)‖², the residual held constant.
 * JumpReLU θ gradients are the rectangle-kernel straight-through estimates (Rajamanoharan et al.
 * 2024, eqs. 11–12): ∂f/∂θ = −(θ/ε) K((pre − θ)/ε) · upstream, ∂H/∂θ = −(1/ε) K((pre − θ)/ε),
 * K(u) = 1[|u| < ½]; pre gets no gradient through H. For log θ multiply by θ.
 *
 * Transcoders (dOut = o given, target y [B, o]): W_dec [m, o], b_dec [o], pre = x W_enc + b_enc
 * (no b_dec subtraction), ŷ = f W_dec + b_dec, mse = (1/B) Σ_b ‖y_b − ŷ_b‖², AuxK on y − ŷ.
 */
import type { SaeVariant } from './config.js';

export interface Params64 {
  readonly W_enc: Float64Array;
  readonly b_enc: Float64Array;
  readonly W_dec: Float64Array;
  readonly b_dec: Float64Array;
  /** JumpReLU only. */
  readonly logThreshold: Float64Array | null;
}

export interface RefStepOptions {
  readonly variant: SaeVariant;
  readonly d: number;
  readonly m: number;
  readonly k: number | null;
  /** λ for this step (after warm-up). */
  readonly lambda: number;
  readonly kAux: number;
  readonly auxkCoefficient: number;
  readonly bandwidth: number;
  /** [m] 1 where the latent is dead (AuxK); null: none. */
  readonly dead: Uint8Array | null;
  /** AuxK target residual x − x̂ to use instead of this step's (finite differences hold it fixed). */
  readonly residual?: Float64Array;
  /** Transcoders: the output width o (the target is then referenceStep's `y`). */
  readonly dOut?: number;
}

export interface RefStepResult {
  readonly loss: number;
  readonly mse: number;
  readonly sparsity: number;
  readonly aux: number;
  /** [B, m] the activations f. */
  readonly f: Float64Array;
  /** [B, o] the residual x − x̂ (transcoders: y − ŷ). */
  readonly residual: Float64Array;
  /** (k·B)-th largest of max(pre, 0) (batchtopk), else null. */
  readonly batchThreshold: number | null;
  readonly grads: Params64;
}

/** Indices of the `k` largest of `v` (descending; ties to the lower index), among `allowed`. */
function topIndices(v: ArrayLike<number>, k: number, allowed?: (i: number) => boolean): number[] {
  const idx: number[] = [];
  for (let i = 0; i < v.length; i++) if (!allowed || allowed(i)) idx.push(i);
  idx.sort((a, b) => v[b] - v[a] || a - b);
  return idx.slice(0, k);
}

/** Loss and gradients of one step on x [B, d] (transcoders: with target y [B, o], o = options.dOut). */
export function referenceStep(p: Params64, x: ArrayLike<number>, B: number, o: RefStepOptions, y?: ArrayLike<number>): RefStepResult {
  const { d, m } = o;
  const transcoder = o.dOut !== undefined;
  if (transcoder && !y) throw new Error('referenceStep: a transcoder (dOut) needs the target y');
  const w = o.dOut ?? d; // output width
  const target = y ?? x;
  const shift = (j: number) => (transcoder ? 0 : p.b_dec[j]); // SAEs encode x − b_dec
  const pre = new Float64Array(B * m);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < m; i++) {
      let s = p.b_enc[i];
      for (let j = 0; j < d; j++) s += (x[b * d + j] - shift(j)) * p.W_enc[j * m + i];
      pre[b * m + i] = s;
    }
  }
  const theta = p.logThreshold ? p.logThreshold.map(Math.exp) : null;
  const { f, batchThreshold } = activate(pre, B, o, theta);
  const xhat = new Float64Array(B * w);
  for (let b = 0; b < B; b++) for (let j = 0; j < w; j++) {
    let s = p.b_dec[j];
    for (let i = 0; i < m; i++) s += f[b * m + i] * p.W_dec[i * w + j];
    xhat[b * w + j] = s;
  }
  const residual = new Float64Array(B * w);
  let mse = 0;
  for (let t = 0; t < B * w; t++) {
    residual[t] = target[t] - xhat[t];
    mse += residual[t] ** 2 / B;
  }
  const g: Params64 = { W_enc: new Float64Array(d * m), b_enc: new Float64Array(m), W_dec: new Float64Array(m * w), b_dec: new Float64Array(w), logThreshold: theta ? new Float64Array(m) : null };
  const dpre = new Float64Array(B * m);
  // Reconstruction: dx̂ = −2 r / B; dW_dec = fᵀ dx̂; db_dec += Σ_b dx̂; df = dx̂ W_decᵀ.
  const df = new Float64Array(B * m);
  for (let b = 0; b < B; b++) for (let j = 0; j < w; j++) {
    const dy = (-2 * residual[b * w + j]) / B;
    g.b_dec[j] += dy;
    for (let i = 0; i < m; i++) {
      g.W_dec[i * w + j] += f[b * m + i] * dy;
      df[b * m + i] += dy * p.W_dec[i * w + j];
    }
  }
  const sparsity = sparsityTerm(p, pre, f, df, dpre, g, theta, B, o);
  const aux = auxTerm(p, pre, o.residual ?? residual, dpre, g, B, o);
  // Encoder: dW_enc = (x − b_dec)ᵀ dpre; db_enc = Σ_b dpre; db_dec −= W_enc Σ_b dpre (SAEs only).
  for (let b = 0; b < B; b++) for (let i = 0; i < m; i++) {
    const dp = dpre[b * m + i];
    if (dp === 0) continue;
    g.b_enc[i] += dp;
    for (let j = 0; j < d; j++) {
      g.W_enc[j * m + i] += (x[b * d + j] - shift(j)) * dp;
      if (!transcoder) g.b_dec[j] -= p.W_enc[j * m + i] * dp;
    }
  }
  return { loss: mse + sparsity + aux, mse, sparsity, aux, f, residual, batchThreshold, grads: g };
}

function activate(pre: Float64Array, B: number, o: RefStepOptions, theta: Float64Array | null): { f: Float64Array; batchThreshold: number | null } {
  const m = o.m;
  const f = new Float64Array(B * m);
  switch (o.variant) {
    case 'relu':
      for (let t = 0; t < B * m; t++) f[t] = Math.max(pre[t], 0);
      return { f, batchThreshold: null };
    case 'jumprelu':
      for (let t = 0; t < B * m; t++) f[t] = pre[t] > theta![t % m] ? pre[t] : 0;
      return { f, batchThreshold: null };
    case 'topk':
      for (let b = 0; b < B; b++) for (const i of topIndices(pre.subarray(b * m, (b + 1) * m), o.k!)) f[b * m + i] = Math.max(pre[b * m + i], 0);
      return { f, batchThreshold: null };
    case 'batchtopk': {
      const relu = pre.map((v) => Math.max(v, 0));
      const sorted = Float64Array.from(relu).sort().reverse();
      const t = sorted[Math.min(o.k! * B, B * m) - 1];
      for (let i = 0; i < B * m; i++) f[i] = relu[i] >= t ? relu[i] : 0;
      return { f, batchThreshold: t };
    }
  }
}

/** Adds the sparsity penalty's gradients; fills dpre from df through the activation. */
function sparsityTerm(p: Params64, pre: Float64Array, f: Float64Array, df: Float64Array, dpre: Float64Array, g: Params64, theta: Float64Array | null, B: number, o: RefStepOptions): number {
  const { m, lambda } = o;
  const d = o.dOut ?? o.d; // decoder row width
  let loss = 0;
  switch (o.variant) {
    case 'relu': {
      const norms = new Float64Array(m);
      for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) norms[i] += p.W_dec[i * d + j] ** 2;
      for (let i = 0; i < m; i++) norms[i] = Math.sqrt(norms[i]);
      for (let b = 0; b < B; b++) for (let i = 0; i < m; i++) {
        const t = b * m + i;
        loss += (lambda / B) * f[t] * norms[i];
        dpre[t] += pre[t] > 0 ? df[t] + (lambda / B) * norms[i] : 0;
        if (f[t] !== 0) for (let j = 0; j < d; j++) g.W_dec[i * d + j] += ((lambda / B) * f[t] * p.W_dec[i * d + j]) / norms[i];
      }
      return loss;
    }
    case 'jumprelu': {
      const eps = o.bandwidth;
      for (let b = 0; b < B; b++) for (let i = 0; i < m; i++) {
        const t = b * m + i;
        const th = theta![i];
        if (pre[t] > th) { loss += lambda / B; dpre[t] += df[t]; }
        if (Math.abs(pre[t] - th) < eps / 2) {
          // dθ = −(θ/ε)·df − (1/ε)·λ/B; d log θ = θ·dθ.
          g.logThreshold![i] += th * (-(th / eps) * df[t] - (lambda / B) / eps);
        }
      }
      return loss;
    }
    case 'topk':
    case 'batchtopk':
      for (let t = 0; t < B * m; t++) if (f[t] > 0) dpre[t] += df[t];
      return 0;
  }
}

/** AuxK: dead latents reconstruct the residual (topk, batchtopk only). */
function auxTerm(p: Params64, pre: Float64Array, residual: Float64Array, dpre: Float64Array, g: Params64, B: number, o: RefStepOptions): number {
  if ((o.variant !== 'topk' && o.variant !== 'batchtopk') || !o.dead) return 0;
  const m = o.m;
  const d = o.dOut ?? o.d; // width of the residual AuxK reconstructs
  const dead = o.dead;
  const numDead = dead.reduce((a, v) => a + (v ? 1 : 0), 0);
  if (numDead === 0) return 0;
  const kk = Math.min(o.kAux, numDead);
  const coef = o.auxkCoefficient * Math.min(numDead / o.kAux, 1);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const row = pre.subarray(b * m, (b + 1) * m);
    const chosen = topIndices(row, kk, (i) => dead[i] === 1);
    const ehat = new Float64Array(d);
    for (const i of chosen) for (let j = 0; j < d; j++) ehat[j] += row[i] * p.W_dec[i * d + j];
    for (let j = 0; j < d; j++) {
      const diff = ehat[j] - residual[b * d + j];
      loss += (coef * diff * diff) / B;
      const de = (2 * coef * diff) / B;
      for (const i of chosen) {
        g.W_dec[i * d + j] += row[i] * de;
        dpre[b * m + i] += de * p.W_dec[i * d + j];
      }
    }
  }
  return loss;
}
