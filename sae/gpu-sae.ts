/**
 * A saved (SAELens-form) SAE on the GPU: encode and decode batches with the engine, for
 * evaluation and for anything else that runs an SAE over many tokens. Shapes as in sae.ts:
 * x [n, d], f [n, m] (dense) or values/indices [n, k] (topk), x̂ [n, d].
 */
import {
  binary, gatherDecode, jumpreluForward, keep, matmul, reluForward, topk, upload, type Gpu, type Tensor,
} from '../src/engine/index.js';
import type { Sae } from './sae.js';

export interface GpuSae {
  readonly sae: Sae;
  readonly W_enc: Tensor;
  readonly b_enc: Tensor;
  readonly W_dec: Tensor;
  readonly b_dec: Tensor;
  readonly threshold: Tensor | null;
}

/** Activations of a batch: dense for relu and jumprelu, k per row for topk. */
export type Encoded =
  | { readonly kind: 'dense'; /** [n, m] */ readonly f: Tensor }
  | { readonly kind: 'sparse'; /** [n, k] */ readonly values: Tensor; /** [n, k] u32 */ readonly indices: Tensor };

/** Uploads the weights (kept out of any scope; free them with disposeGpuSae). */
export function uploadSae(gpu: Gpu, sae: Sae): GpuSae {
  const { d_in: d, d_sae: m } = sae.cfg;
  const w = sae.weights;
  const up = (data: Float32Array, shape: number[]) => keep(upload(gpu, data, shape));
  return {
    sae,
    W_enc: up(w.W_enc, [d, m]),
    b_enc: up(w.b_enc, [m]),
    W_dec: up(w.W_dec, [m, d]),
    b_dec: up(w.b_dec, [d]),
    threshold: w.threshold && sae.cfg.architecture === 'jumprelu' ? up(w.threshold, [m]) : null,
  };
}

export function disposeGpuSae(g: GpuSae): void {
  for (const t of [g.W_enc, g.b_enc, g.W_dec, g.b_dec, g.threshold]) t?.dispose();
}

/** Pre-activations (x − b_dec) W_enc + b_enc (b_dec subtracted only when apply_b_dec_to_input). */
export function preActivations(g: GpuSae, x: Tensor): Tensor {
  const xin = g.sae.cfg.apply_b_dec_to_input ? binary('sub', x, g.b_dec) : x;
  return matmul(xin, g.W_enc, { bias: g.b_enc });
}

/** SAELens `encode` (call inside scope()). */
export function encode(g: GpuSae, x: Tensor): Encoded {
  const pre = preActivations(g, x);
  switch (g.sae.cfg.architecture) {
    case 'relu':
      return { kind: 'dense', f: reluForward(pre) };
    case 'jumprelu':
      return { kind: 'dense', f: jumpreluForward(pre, g.threshold!) };
    case 'topk': {
      const top = topk(pre, g.sae.cfg.k!);
      return { kind: 'sparse', values: reluForward(top.values), indices: top.indices };
    }
  }
}

/** SAELens `decode`: x̂ = f W_dec + b_dec (sparse gather for topk). */
export function decode(g: GpuSae, f: Encoded): Tensor {
  switch (f.kind) {
    case 'dense':
      return matmul(f.f, g.W_dec, { bias: g.b_dec });
    case 'sparse':
      return binary('add', gatherDecode(f.values, f.indices, g.W_dec), g.b_dec);
  }
}
