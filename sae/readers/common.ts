/**
 * What every release reader shares: reading JSON and checked tensors, building the cfg metadata
 * the source's own settings survive in, and the exact folds that turn a release's input scaling
 * into plain weights (so the saved SAE computes the same function with normalize_activations
 * "none").
 */
import fs from 'node:fs';
import { FileFormatError, ShapeMismatchError, UsageError } from '../../src/errors.js';
import { openSafetensors } from '../../src/model/index.js';
import type { Sae, SaeMetadata } from '../sae.js';

/** Version written to metadata.sae_lens_version: SAELens reads ≥ 6.0.0 with its current reader. */
export const SAE_LENS_VERSION = '6.12.0';

/** What a caller knows that the files do not say. */
export interface ReaderOptions {
  /** SAELens' norm_scaling_factor of the release (pretrained_saes.yaml), for expected_average_only_in. */
  readonly normScalingFactor?: number;
  /** Read the folder as a transcoder predicting this hook (Gemma Scope npz transcoders, sparsify transcode). */
  readonly hookOut?: string;
  /** The SAE's folder name in its release (Gemma Scope: "embedding" SAEs are rescaled by √d). */
  readonly folder?: string;
}

export type Safetensors = ReturnType<typeof openSafetensors>;

/**
 * Metadata key a reader sets when the release was trained on a norm's output *after* its weight
 * (Gemma Scope's transcoders: the MLP input), which interp's hook_normalized is before; `interp sae
 * import --fold-input-norm MODEL` makes the two agree (input-norm.ts).
 */
export const INPUT_AFTER_NORM_WEIGHT = 'interp_input_after_norm_weight';

export function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileFormatError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'check the path');
  }
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new FileFormatError(`${file}: not a JSON object`, 'the checkpoint is damaged: download or write it again');
}

/** Tensor `name` as fp32 (F16/BF16/F64 widened), checked against `shape`; null when absent and optional. */
export function tensorOf(weights: Safetensors, name: string, shape: readonly number[], optional = false): Float32Array | null {
  const info = weights.tensors.get(name);
  if (!info) {
    if (optional) return null;
    throw new FileFormatError(`${weights.source}: no tensor "${name}" (has ${[...weights.tensors.keys()].join(', ')})`, 'the checkpoint is incomplete or not an SAE');
  }
  const ok = info.shape.length === shape.length && info.shape.every((d, i) => d === shape[i]);
  if (!ok) throw new ShapeMismatchError(`${weights.source}: "${name}" is [${info.shape.join(', ')}], expected [${shape.join(', ')}]`, 'check that the config belongs to these weights');
  return weights.readF32(name);
}

/** The shape of tensor `name`, or a FileFormatError listing what the file has. */
export function shapeOf(weights: Safetensors, name: string): readonly number[] {
  const info = weights.tensors.get(name);
  if (!info) throw new FileFormatError(`${weights.source}: no tensor "${name}" (has ${[...weights.tensors.keys()].join(', ')})`, 'the checkpoint is incomplete or not an SAE');
  return info.shape;
}

/** a [rows, cols] → aᵀ [cols, rows]. */
export function transposeOf(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/**
 * cfg.json metadata from the source's own fields: SAELens 6 keeps them under `metadata`, older
 * configs and other layouts at the top level. The source's model_from_pretrained_kwargs are kept
 * as written (an SAE trained on processed weights stays marked so); a layout that records none
 * gets {}, which is also what TransformerLens' defaults mean to SAELens.
 */
export function metadataFrom(raw: Record<string, unknown>, defaults: { hook_name?: string; model_name?: string } = {}): SaeMetadata {
  const m = (raw.metadata && typeof raw.metadata === 'object' ? raw.metadata : {}) as Record<string, unknown>;
  const pick = <T>(key: string, fallback: T): T => (m[key] ?? raw[key] ?? fallback) as T;
  const kwargs = pick<unknown>('model_from_pretrained_kwargs', {});
  const hookOut = pick<unknown>('hook_name_out', undefined);
  return {
    ...m,
    sae_lens_version: SAE_LENS_VERSION,
    model_name: pick('model_name', defaults.model_name ?? ''),
    hook_name: pick('hook_name', defaults.hook_name ?? ''),
    ...(typeof hookOut === 'string' ? { hook_name_out: hookOut } : {}),
    hook_head_index: null,
    context_size: pick('context_size', 0),
    prepend_bos: pick('prepend_bos', true),
    model_from_pretrained_kwargs: kwargs && typeof kwargs === 'object' && !Array.isArray(kwargs) ? (kwargs as Record<string, unknown>) : {},
    ...(m.sae_lens_version !== undefined || raw.sae_lens_version !== undefined ? { source_sae_lens_version: pick('sae_lens_version', null) } : {}),
  };
}

/**
 * Folds a dataset-wise input scale s (the SAE was trained on s·x) into the weights, as SAELens'
 * SAE.fold_activation_norm_scaling_factor does (saes/sae.py): W_enc·s, W_dec/s, b_dec/s. For an
 * SAE that subtracts b_dec first, (s·x − b_dec)W_enc = (x − b_dec/s)(s·W_enc), so the fold is
 * exact; a transcoder's output is rescaled the same way (its input and output share s, as in
 * SAELens' fold).
 */
export function foldInputScale(sae: Sae, s: number, where: string): Sae {
  if (!Number.isFinite(s) || s <= 0) throw new FileFormatError(`${where}: activation scaling factor ${s} is not a positive number`, 'the release is damaged: download it again');
  const w = sae.weights;
  return {
    cfg: sae.cfg,
    weights: { ...w, W_enc: w.W_enc.map((v) => v * s), W_dec: w.W_dec.map((v) => v / s), b_dec: w.b_dec.map((v) => v / s) },
  };
}

/**
 * SAELens TopK with rescale_acts_by_decoder_norm (saes/topk_sae.py): pre-activations are multiplied
 * by ‖W_dec,i‖ before the top-k, and the kept activations divided by it before decoding. With
 * n_i = ‖W_dec,i‖ > 0 that is exactly a plain TopK SAE with W_enc[:, i]·n_i, b_enc_i·n_i and
 * W_dec,i / n_i, which is what this returns.
 */
export function foldDecoderNorms(sae: Sae, where: string): Sae {
  const { d_in: d, d_sae: m } = sae.cfg;
  const o = sae.cfg.d_out ?? d;
  const w = sae.weights;
  const W_enc = Float32Array.from(w.W_enc);
  const b_enc = Float32Array.from(w.b_enc);
  const W_dec = Float32Array.from(w.W_dec);
  for (let i = 0; i < m; i++) {
    let ss = 0;
    for (let j = 0; j < o; j++) ss += W_dec[i * o + j] ** 2;
    const n = Math.sqrt(ss);
    if (n === 0) throw new UsageError(`${where}: latent ${i} has a zero decoder row, so rescale_acts_by_decoder_norm cannot be folded`, 'remove the dead latent in SAELens, or save with rescale_acts_by_decoder_norm false');
    for (let j = 0; j < d; j++) W_enc[j * m + i] *= n;
    b_enc[i] *= n;
    for (let j = 0; j < o; j++) W_dec[i * o + j] /= n;
  }
  return { cfg: { ...sae.cfg, rescale_acts_by_decoder_norm: false }, weights: { ...w, W_enc, b_enc, W_dec } };
}

/** An SAE that subtracts b_dec before encoding, rewritten not to: b_enc − b_dec·W_enc (exact). */
export function foldInputBias(sae: Sae): Sae {
  const { d_in: d, d_sae: m } = sae.cfg;
  const w = sae.weights;
  const b_enc = Float64Array.from(w.b_enc);
  for (let j = 0; j < d; j++) {
    const bj = w.b_dec[j];
    if (bj === 0) continue;
    for (let i = 0; i < m; i++) b_enc[i] -= bj * w.W_enc[j * m + i];
  }
  return { cfg: { ...sae.cfg, apply_b_dec_to_input: false }, weights: { ...w, b_enc: Float32Array.from(b_enc) } };
}

/** A positive integer field of a config, or a FileFormatError naming it. */
export function intField(raw: Record<string, unknown>, key: string, file: string): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new FileFormatError(`${file}: ${key} must be a positive integer (got ${JSON.stringify(v)})`, 'the config is damaged: download or write it again');
  return v;
}
