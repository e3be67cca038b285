/**
 * SAE checkpoints on disk. interp writes the SAELens 6 layout (FORMATS.md "SAE checkpoint"):
 *
 *   DIR/cfg.json                  SaeConfig; `architecture` "standard" for ReLU (SAELens' name)
 *   DIR/sae_weights.safetensors   W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc, b_dec, threshold (jumprelu)
 *   DIR/sparsity.safetensors      optional: sparsity = log10(density + 1e-10) [d_sae]
 *
 * and reads three layouts, detected from the files present, with orientation checked by shape:
 * SAELens (above), EleutherAI sparsify (DIR/cfg.json + DIR/sae.safetensors, or one
 * DIR/<hook>/ folder of them: encoder.weight [n, d], encoder.bias [n], W_dec [n, d], b_dec [d]),
 * and Gemma Scope (DIR/params.npz: W_enc [d, n], W_dec [n, d], b_enc, b_dec, threshold;
 * apply_b_dec_to_input false). Directories are written whole into a temporary sibling and
 * renamed into place, so a reader never sees half a checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileFormatError, ShapeMismatchError, UsageError, describeValue } from '../src/errors.js';
import { openSafetensors, writeSafetensors, type WritableTensor } from '../src/model/index.js';
import { recoverInterruptedSwap, writeDirAtomic, writeFileAtomic } from '../src/util/atomic-write.js';

export { recoverInterruptedSwap };
import { readNpz } from './npz.js';
import { checkSae, type Sae, type SaeArchitecture, type SaeConfig, type SaeMetadata } from './sae.js';

export const SAE_CFG_FILE = 'cfg.json';
export const SAE_WEIGHTS_FILE = 'sae_weights.safetensors';
export const SPARSITY_FILE = 'sparsity.safetensors';
/** Version written to metadata.sae_lens_version: SAELens reads ≥ 6.0.0 with its current reader. */
export const SAE_LENS_VERSION = '6.12.0';

/** The layouts `loadSae` recognises. */
export type SaeLayout = 'saelens' | 'sparsify' | 'gemma-scope';

export interface LoadedSae {
  readonly sae: Sae;
  readonly layout: SaeLayout;
  /** The directory or file the weights came from. */
  readonly source: string;
  /** log10 density per latent when a sparsity.safetensors was present, else null. */
  readonly sparsity: Float32Array | null;
}

/** ReLU SAEs are "standard" in SAELens' registry; interp's in-memory name is "relu". */
function diskArchitecture(a: SaeArchitecture): string {
  return a === 'relu' ? 'standard' : a;
}

function memoryArchitecture(a: unknown, file: string): SaeArchitecture {
  switch (a) {
    case 'standard':
    case 'relu':
      return 'relu';
    case 'topk':
    case 'jumprelu':
      return a;
    default:
      throw new FileFormatError(`${file}: architecture ${describeValue(a)} is not one interp reads`, 'interp reads standard (ReLU), topk and jumprelu SAEs');
  }
}

/** Writes the SAELens files of `sae` into an existing directory (not atomic by itself). */
export function writeSaeFiles(dir: string, sae: Sae, options: { sparsity?: Float32Array } = {}): void {
  checkSae(sae, dir);
  const { d_in: d, d_sae: m } = sae.cfg;
  const w = sae.weights;
  const tensors: Record<string, WritableTensor> = {
    W_enc: { dtype: 'F32', shape: [d, m], data: w.W_enc },
    W_dec: { dtype: 'F32', shape: [m, d], data: w.W_dec },
    b_enc: { dtype: 'F32', shape: [m], data: w.b_enc },
    b_dec: { dtype: 'F32', shape: [d], data: w.b_dec },
  };
  if (sae.cfg.architecture === 'jumprelu' && w.threshold) tensors.threshold = { dtype: 'F32', shape: [m], data: w.threshold };
  writeSafetensors(path.join(dir, SAE_WEIGHTS_FILE), tensors);
  const cfg = { ...sae.cfg, architecture: diskArchitecture(sae.cfg.architecture) };
  writeFileAtomic(path.join(dir, SAE_CFG_FILE), [Buffer.from(`${JSON.stringify(cfg, null, 2)}\n`)]);
  if (options.sparsity) {
    if (options.sparsity.length !== m) throw new ShapeMismatchError(`saveSae(${dir}): sparsity has ${options.sparsity.length} values, d_sae is ${m}`, 'pass one log10 density per latent');
    writeSafetensors(path.join(dir, SPARSITY_FILE), { sparsity: { dtype: 'F32', shape: [m], data: options.sparsity } });
  }
}

/** Saves `sae` in the SAELens layout, replacing `dir` atomically. */
export function saveSae(dir: string, sae: Sae, options: { sparsity?: Float32Array } = {}): void {
  writeDirAtomic(dir, (tmp) => writeSaeFiles(tmp, sae, options));
}

/** log10(density + 1e-10), SAELens' sparsity.safetensors convention. */
export function log10Density(density: ArrayLike<number>): Float32Array {
  return Float32Array.from(density, (p) => Math.log10(p + 1e-10));
}

function readJson(file: string): Record<string, unknown> {
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
  throw new FileFormatError(`${file}: not a JSON object`, 'the checkpoint is damaged: write it again');
}

/** Reads tensor `name` of `file` checked against `shape`, or null when absent and optional. */
function tensor(weights: ReturnType<typeof openSafetensors>, name: string, shape: readonly number[], optional = false): Float32Array | null {
  const info = weights.tensors.get(name);
  if (!info) {
    if (optional) return null;
    throw new FileFormatError(`${weights.source}: no tensor "${name}" (has ${[...weights.tensors.keys()].join(', ')})`, 'the checkpoint is incomplete or not an SAE');
  }
  const ok = info.shape.length === shape.length && info.shape.every((d, i) => d === shape[i]);
  if (!ok) throw new ShapeMismatchError(`${weights.source}: "${name}" is [${info.shape.join(', ')}], expected [${shape.join(', ')}]`, 'check that cfg.json belongs to these weights');
  return weights.readF32(name);
}

function metadataFrom(raw: Record<string, unknown>, hookFallback: string): SaeMetadata {
  const m = (raw.metadata && typeof raw.metadata === 'object' ? raw.metadata : {}) as Record<string, unknown>;
  const pick = <T>(key: string, fallback: T): T => (m[key] ?? raw[key] ?? fallback) as T;
  return {
    ...m,
    sae_lens_version: SAE_LENS_VERSION,
    model_name: pick('model_name', ''),
    hook_name: pick('hook_name', hookFallback),
    hook_head_index: null,
    context_size: pick('context_size', 0),
    prepend_bos: pick('prepend_bos', true),
    model_from_pretrained_kwargs: { center_writing_weights: false },
  };
}

function loadSaeLens(dir: string): Sae {
  const cfgFile = path.join(dir, SAE_CFG_FILE);
  const raw = readJson(cfgFile);
  const d = raw.d_in as number;
  const m = raw.d_sae as number;
  if (!Number.isInteger(d) || !Number.isInteger(m)) throw new FileFormatError(`${cfgFile}: d_in and d_sae must be integers (got ${describeValue(raw.d_in)}, ${describeValue(raw.d_sae)})`, 'the checkpoint is damaged');
  const architecture = memoryArchitecture(raw.architecture ?? 'standard', cfgFile);
  if (raw.normalize_activations !== undefined && raw.normalize_activations !== 'none' && raw.normalize_activations !== null) {
    throw new UsageError(`${cfgFile}: normalize_activations ${describeValue(raw.normalize_activations)} needs a dataset-dependent scale interp cannot recover`, 'fold the normalisation into the weights in SAELens (sae.fold_activation_norm_scaling_factor) and save again');
  }
  const w = openSafetensors(path.join(dir, SAE_WEIGHTS_FILE));
  const cfg: SaeConfig = {
    architecture,
    d_in: d,
    d_sae: m,
    k: architecture === 'topk' ? (raw.k as number) : null,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: raw.apply_b_dec_to_input !== false,
    normalize_activations: 'none',
    reshape_activations: 'none',
    ...(architecture === 'topk' ? { rescale_acts_by_decoder_norm: raw.rescale_acts_by_decoder_norm === true } : {}),
    metadata: metadataFrom(raw, ''),
  };
  if (cfg.rescale_acts_by_decoder_norm) throw new UsageError(`${cfgFile}: rescale_acts_by_decoder_norm is true`, 'interp reads TopK SAEs whose activations are not rescaled; fold the decoder norms in SAELens and save again');
  const sae: Sae = {
    cfg,
    weights: {
      W_enc: tensor(w, 'W_enc', [d, m])!,
      W_dec: tensor(w, 'W_dec', [m, d])!,
      b_enc: tensor(w, 'b_enc', [m])!,
      b_dec: tensor(w, 'b_dec', [d])!,
      threshold: architecture === 'jumprelu' ? thresholdOf(w, m) : null,
    },
  };
  checkSae(sae, dir);
  return sae;
}

/** SAELens stores θ as "threshold"; older JumpReLU files store "log_threshold". */
function thresholdOf(w: ReturnType<typeof openSafetensors>, m: number): Float32Array {
  const t = tensor(w, 'threshold', [m], true);
  if (t) return t;
  const log = tensor(w, 'log_threshold', [m], true);
  if (log) return log.map(Math.exp);
  return tensor(w, 'threshold', [m])!;
}

function loadSparsify(dir: string): Sae {
  const cfgFile = path.join(dir, SAE_CFG_FILE);
  const raw = readJson(cfgFile);
  if (raw.transcode === true) throw new UsageError(`${cfgFile}: a sparsify transcoder, not an autoencoder`, 'import a sparsify SAE (transcode false)');
  if (raw.normalize_io === true) throw new UsageError(`${cfgFile}: normalize_io is true (input norms are not stored in the weights)`, 'train without normalize_io, or fold the norms into the weights first');
  if (raw.activation !== undefined && raw.activation !== 'topk') throw new UsageError(`${cfgFile}: activation ${describeValue(raw.activation)}`, 'interp imports sparsify TopK SAEs');
  const w = openSafetensors(path.join(dir, 'sae.safetensors'));
  const enc = w.info('encoder.weight');
  if (enc.shape.length !== 2) throw new ShapeMismatchError(`${w.source}: encoder.weight is [${enc.shape.join(', ')}], expected [num_latents, d_in]`, 'check the file');
  const [m, d] = enc.shape;
  const encoder = tensor(w, 'encoder.weight', [m, d])!; // [n, d]: transposed into W_enc [d, n]
  const W_enc = new Float32Array(d * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) W_enc[j * m + i] = encoder[i * d + j];
  // sparsify stores W_dec [n, d]; SAELens' loader transposes it anyway (FORMATS.md pitfall): check by shape.
  const decInfo = w.info('W_dec');
  const W_dec = decInfo.shape[0] === m && decInfo.shape[1] === d ? tensor(w, 'W_dec', [m, d])! : transposeOf(tensor(w, 'W_dec', [d, m])!, d, m);
  const k = raw.k as number;
  const cfg: SaeConfig = {
    architecture: 'topk', d_in: d, d_sae: m, k, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true,
    normalize_activations: 'none', reshape_activations: 'none', rescale_acts_by_decoder_norm: false,
    metadata: metadataFrom({}, path.basename(dir)),
  };
  const sae: Sae = { cfg, weights: { W_enc, W_dec, b_enc: tensor(w, 'encoder.bias', [m])!, b_dec: tensor(w, 'b_dec', [d])!, threshold: null } };
  checkSae(sae, dir);
  return sae;
}

function transposeOf(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

function loadGemmaScope(file: string): Sae {
  const arrays = readNpz(file);
  const get = (name: string) => {
    const a = arrays.get(name);
    if (!a) throw new FileFormatError(`${file}: no array ${name} (has ${[...arrays.keys()].join(', ')})`, 'a Gemma Scope params.npz holds W_enc, W_dec, b_enc, b_dec, threshold');
    return a;
  };
  const enc = get('W_enc');
  if (enc.shape.length !== 2) throw new ShapeMismatchError(`${file}: W_enc is [${enc.shape.join(', ')}], expected [d_in, d_sae]`, 'check the file');
  const [d, m] = enc.shape;
  const dec = get('W_dec');
  const W_dec = dec.shape[0] === m && dec.shape[1] === d ? dec.data : dec.shape[0] === d && dec.shape[1] === m ? transposeOf(dec.data, d, m) : null;
  if (!W_dec) throw new ShapeMismatchError(`${file}: W_dec is [${dec.shape.join(', ')}], expected [${m}, ${d}]`, 'check the file');
  const vector = (name: string, n: number) => {
    const a = get(name);
    if (a.data.length !== n) throw new ShapeMismatchError(`${file}: ${name} has ${a.data.length} values, expected ${n}`, 'check the file');
    return a.data;
  };
  const cfg: SaeConfig = {
    architecture: 'jumprelu', d_in: d, d_sae: m, k: null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: false,
    normalize_activations: 'none', reshape_activations: 'none', metadata: metadataFrom({}, ''),
  };
  const sae: Sae = { cfg, weights: { W_enc: enc.data, W_dec, b_enc: vector('b_enc', m), b_dec: vector('b_dec', d), threshold: vector('threshold', m) } };
  checkSae(sae, file);
  return sae;
}

/** The layout of `dir` (or of a params.npz file), and the folder or file to read. */
export function detectLayout(src: string): { layout: SaeLayout; at: string } {
  if (!fs.existsSync(src)) throw new FileFormatError(`${src}: no such file or directory`, 'pass an SAE folder (SAELens or sparsify) or a Gemma Scope params.npz');
  if (fs.statSync(src).isFile()) {
    if (src.endsWith('.npz')) return { layout: 'gemma-scope', at: src };
    throw new FileFormatError(`${src}: a file, not an SAE folder`, 'pass the folder holding cfg.json, or a params.npz');
  }
  const has = (f: string) => fs.existsSync(path.join(src, f));
  if (has(SAE_CFG_FILE) && has(SAE_WEIGHTS_FILE)) return { layout: 'saelens', at: src };
  if (has(SAE_CFG_FILE) && has('sae.safetensors')) return { layout: 'sparsify', at: src };
  if (has('params.npz')) return { layout: 'gemma-scope', at: path.join(src, 'params.npz') };
  const hooks = fs.readdirSync(src).filter((f) => fs.existsSync(path.join(src, f, 'sae.safetensors')));
  if (hooks.length === 1) return { layout: 'sparsify', at: path.join(src, hooks[0]) };
  if (hooks.length > 1) throw new UsageError(`${src}: a sparsify run with ${hooks.length} hook folders (${hooks.slice(0, 5).join(', ')}…)`, `pass one of them, e.g. ${path.join(src, hooks[0])}`);
  throw new FileFormatError(`${src}: neither SAELens (cfg.json + sae_weights.safetensors), sparsify (cfg.json + sae.safetensors) nor Gemma Scope (params.npz)`, 'pass the folder of one SAE');
}

/** Loads an SAE from any of the three layouts. */
export function loadSae(src: string): LoadedSae {
  const { layout, at } = detectLayout(src);
  let sae: Sae;
  switch (layout) {
    case 'saelens':
      sae = loadSaeLens(at);
      break;
    case 'sparsify':
      sae = loadSparsify(at);
      break;
    case 'gemma-scope':
      sae = loadGemmaScope(at);
      break;
  }
  const sparsityFile = path.join(layout === 'gemma-scope' ? path.dirname(at) : at, SPARSITY_FILE);
  const sparsity = fs.existsSync(sparsityFile) ? tensor(openSafetensors(sparsityFile), 'sparsity', [sae.cfg.d_sae]) : null;
  return { sae, layout, source: at, sparsity };
}

/** `interp sae import`: reads any layout and writes SAELens' to `out`; `hook` fills metadata.hook_name when given. */
export function importSae(src: string, out: string, options: { hook?: string; model?: string; normScalingFactor?: number; provenance?: { release: string; sae_id: string; repo_id: string; revision: string; path: string }; layout?: string } = {}): LoadedSae {
  const loaded = loadSae(src);
  const metadata: SaeMetadata = {
    ...loaded.sae.cfg.metadata,
    ...(options.hook ? { hook_name: options.hook } : {}),
    ...(options.model ? { model_name: options.model } : {}),
    interp_imported_from: { layout: loaded.layout, source: path.resolve(loaded.source) },
  };
  const sae: Sae = { cfg: { ...loaded.sae.cfg, metadata }, weights: loaded.sae.weights };
  saveSae(out, sae, loaded.sparsity ? { sparsity: loaded.sparsity } : {});
  return { ...loaded, sae };
}
