/**
 * A faster CPU encoder for scanning whole captures: the same function as sae.ts's
 * encodeReference (SAELens `encode`), computed with W_enc transposed to [m, d] so each latent's
 * weights are contiguous, four rows at a time (each weight load serves four dot products). About
 * twice the reference's speed in V8; still CPU-bound, so writeSaeDashboard also takes any
 * SaeEncoder (a GPU encode) and a row limit. Accumulates in float64 like the reference.
 *
 * Shapes: n = rows, d = d_in, m = d_sae.
 */
import type { SaeEncoder } from './metrics-lm.js';
import { normalizedInput, type Sae } from './sae.js';

/** Rows encoded together; 4 keeps the accumulators in registers. */
const BLOCK = 4;

export function blockedEncoder(sae: Sae): SaeEncoder {
  const { d_in: d, d_sae: m } = sae.cfg;
  const { W_enc, b_enc, b_dec, threshold } = sae.weights;
  // W_enc [d, m] → Wt [m, d]
  const Wt = new Float32Array(m * d);
  for (let j = 0; j < d; j++) for (let i = 0; i < m; i++) Wt[i * d + j] = W_enc[j * m + i];
  const shift = sae.cfg.apply_b_dec_to_input ? b_dec : new Float32Array(d);
  return (raw, n) => {
    const x = normalizedInput(sae, raw, n);
    const xin = new Float32Array(BLOCK * d);
    const pre = new Float64Array(BLOCK * m);
    const f = new Float32Array(n * m);
    for (let r0 = 0; r0 < n; r0 += BLOCK) {
      const rows = Math.min(BLOCK, n - r0);
      xin.fill(0);
      for (let k = 0; k < rows; k++) for (let j = 0; j < d; j++) xin[k * d + j] = x[(r0 + k) * d + j] - shift[j];
      preActivations(Wt, b_enc, xin, pre, d, m);
      for (let k = 0; k < rows; k++) activate(sae, pre.subarray(k * m, (k + 1) * m), f.subarray((r0 + k) * m, (r0 + k + 1) * m), threshold);
    }
    return f;
  };
}

/** pre[k, i] = b_enc[i] + Σ_j xin[k, j] Wt[i, j] for the BLOCK rows of xin. */
function preActivations(Wt: Float32Array, b_enc: Float32Array, xin: Float32Array, pre: Float64Array, d: number, m: number): void {
  for (let i = 0; i < m; i++) {
    const w = i * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const wj = Wt[w + j];
      s0 += xin[j] * wj;
      s1 += xin[d + j] * wj;
      s2 += xin[2 * d + j] * wj;
      s3 += xin[3 * d + j] * wj;
    }
    pre[i] = s0 + b_enc[i];
    pre[m + i] = s1 + b_enc[i];
    pre[2 * m + i] = s2 + b_enc[i];
    pre[3 * m + i] = s3 + b_enc[i];
  }
}

/** The architecture's activation of one row, as encodeReference applies it. */
function activate(sae: Sae, pre: Float64Array, row: Float32Array, threshold: Float32Array | null): void {
  const m = pre.length;
  switch (sae.cfg.architecture) {
    case 'relu':
      for (let i = 0; i < m; i++) row[i] = pre[i] > 0 ? pre[i] : 0;
      break;
    case 'jumprelu':
      for (let i = 0; i < m; i++) row[i] = pre[i] > (threshold as Float32Array)[i] && pre[i] > 0 ? pre[i] : 0;
      break;
    case 'topk': {
      // Same order as the reference: by value descending, ties to the lower index.
      const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => pre[b] - pre[a] || a - b);
      for (const i of order.slice(0, sae.cfg.k as number)) row[i] = Math.max(pre[i], 0);
      break;
    }
  }
}
