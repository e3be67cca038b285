/**
 * SAE and transcoder checkpoints on disk. interp writes the SAELens 6 layout (FORMATS.md "SAE
 * checkpoint"):
 *
 *   DIR/cfg.json                  SaeConfig; `architecture` as SAELens names it (readers/saelens.ts)
 *   DIR/sae_weights.safetensors   W_enc [d_in, d_sae], W_dec [d_sae, d_out], b_enc, b_dec,
 *                                 threshold (jumprelu), W_skip [d_out, d_in] (skip transcoders)
 *   DIR/sparsity.safetensors      optional: sparsity = log10(density + 1e-10) [d_sae]
 *
 * and reads every public release layout, detected from the files present, each with its own
 * reader written from the peer's loader (sae/readers/*.ts, sae/README.md's table): SAELens,
 * EleutherAI sparsify, Gemma Scope (params.npz), Gemma Scope 2 (params.safetensors + config.json)
 * and Llama Scope (hyperparams.json + checkpoints/final.safetensors). Directories are written
 * whole into a temporary sibling and renamed into place, so a reader never sees half a checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileFormatError, ShapeMismatchError, UsageError } from '../src/errors.js';
import { openSafetensors, writeSafetensors, type WritableTensor } from '../src/model/index.js';
import { recoverInterruptedSwap, writeDirAtomic, writeFileAtomic } from '../src/util/atomic-write.js';
import { SAE_LENS_VERSION, tensorOf, type ReaderOptions } from './readers/common.js';
import { GEMMA_SCOPE_2_CONFIG, GEMMA_SCOPE_2_WEIGHTS, readGemmaScope2 } from './readers/gemma-scope-2.js';
import { readGemmaScope } from './readers/gemma-scope.js';
import { LLAMA_SCOPE_CONFIG, LLAMA_SCOPE_WEIGHTS, readLlamaScope } from './readers/llama-scope.js';
import { SAE_CFG_FILE, SAE_WEIGHTS_FILE, diskArchitecture, readSaeLens } from './readers/saelens.js';
import { SPARSIFY_WEIGHTS_FILE, readSparsify } from './readers/sparsify.js';
import { foldInputNorm } from './input-norm.js';
import type { WeightsSource } from './model-weights.js';
import { checkSae, outputWidth, type Sae, type SaeMetadata } from './sae.js';

export { recoverInterruptedSwap, SAE_CFG_FILE, SAE_WEIGHTS_FILE, SAE_LENS_VERSION };
export const SPARSITY_FILE = 'sparsity.safetensors';

/** The layouts `loadSae` recognises. */
export const SAE_LAYOUTS = ['saelens', 'sparsify', 'gemma-scope', 'gemma-scope-2', 'llama-scope'] as const;
export type SaeLayout = (typeof SAE_LAYOUTS)[number];

export interface LoadedSae {
  readonly sae: Sae;
  readonly layout: SaeLayout;
  /** The directory or file the weights came from. */
  readonly source: string;
  /** log10 density per latent when a sparsity.safetensors was present, else null. */
  readonly sparsity: Float32Array | null;
}

/** Writes the SAELens files of `sae` into an existing directory (not atomic by itself). */
export function writeSaeFiles(dir: string, sae: Sae, options: { sparsity?: Float32Array } = {}): void {
  checkSae(sae, dir);
  const { d_in: d, d_sae: m } = sae.cfg;
  const o = outputWidth(sae.cfg);
  const w = sae.weights;
  const tensors: Record<string, WritableTensor> = {
    W_enc: { dtype: 'F32', shape: [d, m], data: w.W_enc },
    W_dec: { dtype: 'F32', shape: [m, o], data: w.W_dec },
    b_enc: { dtype: 'F32', shape: [m], data: w.b_enc },
    b_dec: { dtype: 'F32', shape: [o], data: w.b_dec },
  };
  if (sae.cfg.architecture === 'jumprelu' && w.threshold) tensors.threshold = { dtype: 'F32', shape: [m], data: w.threshold };
  if (w.W_skip) tensors.W_skip = { dtype: 'F32', shape: [o, d], data: w.W_skip };
  writeSafetensors(path.join(dir, SAE_WEIGHTS_FILE), tensors);
  const cfg = { ...sae.cfg, architecture: diskArchitecture(sae.cfg, Boolean(w.W_skip)) };
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

/** The layout of `dir` (or of a params.npz file), and the folder or file to read. */
export function detectLayout(src: string): { layout: SaeLayout; at: string } {
  if (!fs.existsSync(src)) throw new FileFormatError(`${src}: no such file or directory`, 'pass an SAE folder (SAELens, sparsify, Gemma Scope 2, Llama Scope) or a Gemma Scope params.npz');
  if (fs.statSync(src).isFile()) {
    if (src.endsWith('.npz')) return { layout: 'gemma-scope', at: src };
    throw new FileFormatError(`${src}: a file, not an SAE folder`, 'pass the folder holding cfg.json, or a params.npz');
  }
  const has = (f: string) => fs.existsSync(path.join(src, f));
  if (has(SAE_CFG_FILE) && has(SAE_WEIGHTS_FILE)) return { layout: 'saelens', at: src };
  if (has(SAE_CFG_FILE) && has(SPARSIFY_WEIGHTS_FILE)) return { layout: 'sparsify', at: src };
  if (has('params.npz')) return { layout: 'gemma-scope', at: path.join(src, 'params.npz') };
  if (has(GEMMA_SCOPE_2_WEIGHTS) && has(GEMMA_SCOPE_2_CONFIG)) return { layout: 'gemma-scope-2', at: src };
  if (has(LLAMA_SCOPE_CONFIG) && has(LLAMA_SCOPE_WEIGHTS)) return { layout: 'llama-scope', at: src };
  const hooks = fs.readdirSync(src).filter((f) => fs.existsSync(path.join(src, f, SPARSIFY_WEIGHTS_FILE)));
  if (hooks.length === 1) return { layout: 'sparsify', at: path.join(src, hooks[0]) };
  if (hooks.length > 1) throw new UsageError(`${src}: a sparsify run with ${hooks.length} hook folders (${hooks.slice(0, 5).join(', ')}…)`, `pass one of them, e.g. ${path.join(src, hooks[0])}`);
  const halves = [
    has(SAE_CFG_FILE) && `${SAE_CFG_FILE} without ${SAE_WEIGHTS_FILE} or ${SPARSIFY_WEIGHTS_FILE}`,
    has(GEMMA_SCOPE_2_WEIGHTS) !== has(GEMMA_SCOPE_2_CONFIG) && `only one of ${GEMMA_SCOPE_2_WEIGHTS} and ${GEMMA_SCOPE_2_CONFIG}`,
    has(LLAMA_SCOPE_CONFIG) !== has(LLAMA_SCOPE_WEIGHTS) && `only one of ${LLAMA_SCOPE_CONFIG} and ${LLAMA_SCOPE_WEIGHTS}`,
  ].filter(Boolean);
  throw new FileFormatError(
    `${src}: not an SAE folder of any layout interp reads${halves.length ? ` (it has ${halves.join('; ')})` : ''}: SAELens (cfg.json + sae_weights.safetensors), sparsify (cfg.json + sae.safetensors), Gemma Scope (params.npz), Gemma Scope 2 (params.safetensors + config.json), Llama Scope (hyperparams.json + checkpoints/final.safetensors)`,
    'pass the folder of one SAE (download the missing file if one is missing)',
  );
}

/** What a caller can tell a reader: see ReaderOptions; `hook` names the input hook where the files do not. */
export interface LoadOptions extends ReaderOptions {
  readonly hook?: string;
}

/** The reader of each layout (sae/readers/), given the folder or file detectLayout found. */
const READERS: Readonly<Record<SaeLayout, (at: string, options: LoadOptions) => Sae>> = {
  saelens: readSaeLens,
  sparsify: readSparsify,
  'gemma-scope': readGemmaScope,
  'gemma-scope-2': readGemmaScope2,
  'llama-scope': readLlamaScope,
};

/** Loads an SAE or transcoder from any of the layouts. */
export function loadSae(src: string, options: LoadOptions = {}): LoadedSae {
  const { layout, at } = detectLayout(src);
  const sae = READERS[layout](at, options);
  const sparsityFile = path.join(layout === 'gemma-scope' ? path.dirname(at) : at, SPARSITY_FILE);
  const sparsity = fs.existsSync(sparsityFile) ? tensorOf(openSafetensors(sparsityFile), 'sparsity', [sae.cfg.d_sae]) : null;
  return { sae, layout, source: at, sparsity };
}

/** Where an SAE imported by name came from (sae/registry.ts), kept in its cfg.json metadata. */
export interface ImportProvenance {
  readonly release: string;
  readonly sae_id: string;
  readonly repo_id: string;
  /** The commit the files were read at. */
  readonly revision: string;
  readonly path: string;
}

export interface ImportOptions {
  /** The input hook (overrides what the files say). */
  readonly hook?: string;
  /** Transcoders: the output hook; for a Gemma Scope params.npz it makes the import a transcoder. */
  readonly hookOut?: string;
  readonly model?: string;
  /** SAELens' norm_scaling_factor for expected_average_only_in releases (the registry's). */
  readonly normScalingFactor?: number;
  readonly provenance?: ImportProvenance;
  /** The registry's layout name; "gemma-scope-transcoder" reads params.npz as a transcoder. */
  readonly layout?: string;
  /**
   * A transcoder trained on a norm's output *with* its weight (Gemma Scope's MLP input): this
   * model's norm weight is folded in so that it reads interp's hook_normalized exactly (input-norm.ts).
   */
  readonly foldInputNorm?: WeightsSource;
}

/**
 * `interp sae import`: reads any layout and writes SAELens' to `out`. The source's own metadata
 * (model settings included) is kept; `hook`, `hookOut` and `model` override it where given, and
 * metadata.interp_imported_from records the layout, the source path and, by name, the release.
 */
export function importSae(src: string, out: string, options: ImportOptions = {}): LoadedSae {
  if (options.layout === 'gemma-scope-transcoder' && !options.hookOut) {
    throw new UsageError(`${src}: a Gemma Scope transcoder needs its output hook`, 'pass --hook-out (e.g. blocks.L.hook_mlp_out)');
  }
  const loaded = loadSae(src, {
    ...(options.hook !== undefined ? { hook: options.hook } : {}),
    ...(options.hookOut !== undefined ? { hookOut: options.hookOut } : {}),
    ...(options.normScalingFactor !== undefined ? { normScalingFactor: options.normScalingFactor } : {}),
    ...(options.provenance ? { folder: options.provenance.path } : {}),
  });
  const metadata: SaeMetadata = {
    ...loaded.sae.cfg.metadata,
    ...(options.hook ? { hook_name: options.hook } : {}),
    ...(options.hookOut && loaded.sae.cfg.d_out !== undefined ? { hook_name_out: options.hookOut } : {}),
    ...(options.model ? { model_name: options.model } : {}),
    interp_imported_from: { layout: options.layout ?? loaded.layout, source: path.resolve(loaded.source), ...(options.provenance ?? {}) },
  };
  let sae: Sae = { cfg: { ...loaded.sae.cfg, metadata }, weights: loaded.sae.weights };
  if (options.foldInputNorm) {
    if (loaded.sae.cfg.metadata.interp_input_norm_folded !== undefined) throw new UsageError(`${src}: the input norm is already folded in (metadata.interp_input_norm_folded)`, 'import it without --fold-input-norm');
    sae = foldInputNorm(sae, options.foldInputNorm, src);
  }
  checkSae(sae, src);
  saveSae(out, sae, loaded.sparsity ? { sparsity: loaded.sparsity } : {});
  return { ...loaded, sae };
}
