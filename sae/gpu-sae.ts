/**
 * A saved (SAELens-form) SAE or transcoder on the GPU: encode and decode batches with the engine,
 * for evaluation and for anything else that runs a dictionary over many tokens. Shapes as in
 * sae.ts: x [n, d], f [n, m] (dense) or values/indices [n, k] (topk), x̂ [n, o].
 */
import {
  binary, gatherDecode, jumpreluForward, keep, matmul, reduce, reluForward, topk, transpose, unary, upload, type Gpu, type Tensor,
} from '../src/engine/index.js';
import { isTranscoder, outputWidth, type Sae } from './sae.js';

export interface GpuSae {
  readonly sae: Sae;
  readonly W_enc: Tensor;
  readonly b_enc: Tensor;
  readonly W_dec: Tensor;
  readonly b_dec: Tensor;
  readonly threshold: Tensor | null;
  /** [o, d], skip transcoders only. */
  readonly W_skip: Tensor | null;
}

/**
 * Activations of a batch: dense for relu and jumprelu, k per row for topk. `input` is what
 * decode needs of the encoded rows: the rows themselves (skip term) and the per-row statistics
 * of the input normalisation (to undo it), both [n]-shaped or absent.
 */
export type Encoded = (
  | { readonly kind: 'dense'; /** [n, m] */ readonly f: Tensor }
  | { readonly kind: 'sparse'; /** [n, k] */ readonly values: Tensor; /** [n, k] u32 */ readonly indices: Tensor }
) & { readonly input?: EncodedInput };

export interface EncodedInput {
  /** [n, d] the raw rows (skip transcoders). */
  readonly x?: Tensor;
  /** [n] added after scaling (layer_norm: μ). */
  readonly shift?: Tensor;
  /** [n] output scale (layer_norm: σ; constant_norm_rescale: ‖x‖/√d). */
  readonly scale?: Tensor;
}

/** Uploads the weights (kept out of any scope; free them with disposeGpuSae). */
export function uploadSae(gpu: Gpu, sae: Sae): GpuSae {
  const { d_in: d, d_sae: m } = sae.cfg;
  const o = outputWidth(sae.cfg);
  const w = sae.weights;
  const up = (data: Float32Array, shape: number[]) => keep(upload(gpu, data, shape));
  // SAELens' JumpReLU is relu(pre)·1[pre > θ] = pre·1[pre > max(θ, 0)]: the engine's kernel
  // computes the second form, so a negative θ is raised to 0 here.
  const theta = w.threshold && sae.cfg.architecture === 'jumprelu' ? w.threshold.map((t) => Math.max(t, 0)) : null;
  return {
    sae,
    W_enc: up(w.W_enc, [d, m]),
    b_enc: up(w.b_enc, [m]),
    W_dec: up(w.W_dec, [m, o]),
    b_dec: up(w.b_dec, [o]),
    threshold: theta ? up(theta, [m]) : null,
    W_skip: w.W_skip ? up(w.W_skip, [o, d]) : null,
  };
}

export function disposeGpuSae(g: GpuSae): void {
  for (const t of [g.W_enc, g.b_enc, g.W_dec, g.b_dec, g.threshold, g.W_skip]) t?.dispose();
}

/**
 * Applies `f` to xᵀ and transposes back. The engine broadcasts a vector along rows only, so
 * per-row scalars of x [n, c] become a row vector [n] of xᵀ [c, n], and per-row reductions of x
 * are column reductions of xᵀ: one transpose each way for a whole chain of them.
 */
function onTranspose(x: Tensor, f: (xt: Tensor) => Tensor): Tensor {
  return transpose(f(transpose(x)));
}

/** SAELens' run-time norm_in of x [n, d] (sae.py _setup_activation_normalization), with what decode needs to undo it. */
function normalizeInput(g: GpuSae, x: Tensor): { x: Tensor; shift?: Tensor; scale?: Tensor } {
  const d = g.sae.cfg.d_in;
  switch (g.sae.cfg.normalize_activations) {
    case 'none':
      return { x };
    case 'layer_norm': {
      let mu: Tensor | undefined;
      let std: Tensor | undefined;
      const xn = onTranspose(x, (xt) => {
        mu = reduce(xt, 'mean', 'cols'); // [n]
        const centred = binary('sub', xt, mu);
        // torch.std: √(Σ(x − μ)² / (d − 1))
        std = unary('sqrt', unary('affine', reduce(unary('square', centred), 'sum', 'cols'), { alpha: 1 / (d - 1) }));
        return binary('div', centred, unary('affine', std, { beta: 1e-5 }));
      });
      return { x: xn, shift: mu, scale: std };
    }
    case 'constant_norm_rescale': {
      const norm = reduce(x, 'norm', 'rows'); // [n]
      return { x: onTranspose(x, (xt) => unary('affine', binary('div', xt, norm), { alpha: Math.sqrt(d) })), scale: unary('affine', norm, { alpha: 1 / Math.sqrt(d) }) };
    }
  }
}

/** Pre-activations norm_in(x) W_enc + b_enc, less b_dec first when apply_b_dec_to_input. */
export function preActivations(g: GpuSae, x: Tensor): Tensor {
  return preActivationsOf(g, normalizeInput(g, x).x);
}

function preActivationsOf(g: GpuSae, xn: Tensor): Tensor {
  const xin = g.sae.cfg.apply_b_dec_to_input ? binary('sub', xn, g.b_dec) : xn;
  return matmul(xin, g.W_enc, { bias: g.b_enc });
}

/** SAELens `encode` (call inside scope()). */
export function encode(g: GpuSae, x: Tensor): Encoded {
  const norm = normalizeInput(g, x);
  const pre = preActivationsOf(g, norm.x);
  const input: EncodedInput = {
    ...(g.W_skip ? { x } : {}),
    // Transcoders never undo the normalisation: their output is read at another hook.
    ...(!isTranscoder(g.sae.cfg) && norm.shift ? { shift: norm.shift } : {}),
    ...(!isTranscoder(g.sae.cfg) && norm.scale ? { scale: norm.scale } : {}),
  };
  switch (g.sae.cfg.architecture) {
    case 'relu':
      return { kind: 'dense', f: reluForward(pre), input };
    case 'jumprelu':
      return { kind: 'dense', f: jumpreluForward(pre, g.threshold!), input };
    case 'topk': {
      const top = topk(pre, g.sae.cfg.k!);
      return { kind: 'sparse', values: reluForward(top.values), indices: top.indices, input };
    }
  }
}

/** SAELens `decode`: x̂ = norm_out(f W_dec + b_dec) (sparse gather for topk), + x W_skipᵀ for skip transcoders. */
export function decode(g: GpuSae, f: Encoded): Tensor {
  let out = f.kind === 'dense' ? matmul(f.f, g.W_dec, { bias: g.b_dec }) : binary('add', gatherDecode(f.values, f.indices, g.W_dec), g.b_dec);
  const { scale, shift } = f.input ?? {};
  if (scale || shift) {
    out = onTranspose(out, (t) => {
      const scaled = scale ? binary('mul', t, scale) : t;
      return shift ? binary('add', scaled, shift) : scaled;
    });
  }
  if (g.W_skip) {
    if (!f.input?.x) throw new Error('decode: a skip transcoder needs the encoded rows (encode them with this GpuSae)');
    out = binary('add', out, matmul(f.input.x, g.W_skip, { transB: true }));
  }
  return out;
}
