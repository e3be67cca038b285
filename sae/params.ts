/**
 * An SAE's trainable parameters on the GPU (in the scaled input space x' = s·x), their
 * initialisation, and the fold of the input scale into SAELens' unscaled form on save.
 *
 * Shapes: W_enc [d, m], b_enc [m], W_dec [m, d], b_dec [d], logThreshold [m] (JumpReLU).
 *
 * Fold (FORMATS.md): the trained SAE computes f = act((s x − b'_dec) W_enc + b_enc) and
 * x̂ = (f W_dec + b'_dec) / s. In SAELens' form f = act((x − b_dec) W_enc* + b_enc),
 * x̂ = f W_dec* + b_dec that is W_enc* = s·W_enc, W_dec* = W_dec / s, b_dec = b'_dec / s, with
 * b_enc and the threshold unchanged: pre-activations, and so f, are identical.
 */
import { keep, upload, type Tensor, type Gpu } from '../src/engine/index.js';
import type { TrainConfig } from './config.js';
import { savedArchitecture } from './config.js';
import type { Sae, SaeConfig, SaeMetadata, SaeWeights } from './sae.js';
import { mulberry32 } from '../src/util/random.js';

/** Trainable tensors. BatchTopK's running threshold is trainer state, not a parameter. */
export interface SaeParams {
  readonly W_enc: Tensor;
  readonly b_enc: Tensor;
  readonly W_dec: Tensor;
  readonly b_dec: Tensor;
  readonly logThreshold: Tensor | null;
}

export const PARAM_NAMES = ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'logThreshold'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/** Host copies of the parameters (same shapes, row-major). */
export interface HostParams {
  readonly W_enc: Float32Array;
  readonly b_enc: Float32Array;
  readonly W_dec: Float32Array;
  readonly b_dec: Float32Array;
  readonly logThreshold: Float32Array | null;
}

/** Box–Muller normals from mulberry32 uniforms. */
export function normalSampler(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Initial parameters (SAELens defaults, Gao et al. 2024 §2.2, April 2024 update): decoder rows
 * in random directions at norm `decoderInitNorm`, W_enc = W_decᵀ, b_enc = 0, b_dec = the mean of
 * the scaled data, log θ = log(initThreshold).
 */
export function initialParams(cfg: TrainConfig, scaledMean: ArrayLike<number>): HostParams {
  const { dIn: d, dSae: m } = cfg;
  const normal = normalSampler(cfg.seed ^ 0x5ae);
  const W_dec = new Float32Array(m * d);
  const W_enc = new Float32Array(d * m);
  const row = new Float64Array(d);
  for (let i = 0; i < m; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) { row[j] = normal(); norm += row[j] ** 2; }
    const scale = cfg.decoderInitNorm / Math.sqrt(norm);
    for (let j = 0; j < d; j++) {
      W_dec[i * d + j] = row[j] * scale;
      W_enc[j * m + i] = W_dec[i * d + j];
    }
  }
  return {
    W_enc,
    b_enc: new Float32Array(m),
    W_dec,
    b_dec: Float32Array.from(scaledMean),
    logThreshold: cfg.variant === 'jumprelu' ? new Float32Array(m).fill(Math.log(cfg.initThreshold)) : null,
  };
}

/** Uploads host parameters; the tensors are kept out of any scope (dispose with disposeParams). */
export function uploadParams(gpu: Gpu, h: HostParams, d: number, m: number): SaeParams {
  const up = (data: Float32Array, shape: number[]) => keep(upload(gpu, data, shape));
  return {
    W_enc: up(h.W_enc, [d, m]),
    b_enc: up(h.b_enc, [m]),
    W_dec: up(h.W_dec, [m, d]),
    b_dec: up(h.b_dec, [d]),
    logThreshold: h.logThreshold ? up(h.logThreshold, [m]) : null,
  };
}

/** Downloads an f32 tensor. */
export async function downloadF32(t: Tensor): Promise<Float32Array> {
  const data = await t.download();
  if (!(data instanceof Float32Array)) throw new Error(`expected an f32 tensor, got ${t.describe()}`);
  return data;
}

export async function downloadParams(p: SaeParams): Promise<HostParams> {
  return {
    W_enc: await downloadF32(p.W_enc),
    b_enc: await downloadF32(p.b_enc),
    W_dec: await downloadF32(p.W_dec),
    b_dec: await downloadF32(p.b_dec),
    logThreshold: p.logThreshold ? await downloadF32(p.logThreshold) : null,
  };
}

export function disposeParams(p: SaeParams): void {
  for (const t of [p.W_enc, p.b_enc, p.W_dec, p.b_dec, p.logThreshold]) t?.dispose();
}

/** What a saved SAE records besides its weights. */
export interface FoldOptions {
  /** Input scale s the parameters were trained under (x' = s·x). */
  readonly scale: number;
  /** BatchTopK's global threshold (scaled space = unscaled space: pre-activations are equal). */
  readonly batchThreshold: number | null;
  readonly metadata: SaeMetadata;
}

/** The SAELens-form SAE of parameters trained on s·x (see the file comment for the algebra). */
export function foldToSae(cfg: TrainConfig, h: HostParams, o: FoldOptions): Sae {
  const s = o.scale;
  const arch = savedArchitecture(cfg.variant);
  let threshold: Float32Array | null = null;
  if (cfg.variant === 'jumprelu') threshold = h.logThreshold!.map(Math.exp);
  if (cfg.variant === 'batchtopk') threshold = new Float32Array(cfg.dSae).fill(o.batchThreshold ?? 0);
  const weights: SaeWeights = {
    W_enc: h.W_enc.map((v) => v * s),
    b_enc: Float32Array.from(h.b_enc),
    W_dec: h.W_dec.map((v) => v / s),
    b_dec: h.b_dec.map((v) => v / s),
    threshold,
  };
  const saeCfg: SaeConfig = {
    architecture: arch,
    d_in: cfg.dIn,
    d_sae: cfg.dSae,
    k: arch === 'topk' ? cfg.k : null,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    reshape_activations: 'none',
    ...(arch === 'topk' ? { rescale_acts_by_decoder_norm: false } : {}),
    metadata: o.metadata,
  };
  return { cfg: saeCfg, weights };
}
