/**
 * Trainer checkpoints for `--resume`: one folder, replaced atomically at each save, holding
 *
 *   cfg.json, sae_weights.safetensors   the SAE so far, SAELens layout (loadable as it is)
 *   trainer_state.safetensors           the parameters in the scaled space they train in (exact
 *                                       resume: no unfold rounding), Adam m and v per parameter,
 *                                       and per latent the tokens since it last fired (I64)
 *   trainer.json                        step, position in the shuffle (epoch, rows consumed),
 *                                       Adam step, input scale, BatchTopK threshold, the resolved
 *                                       TrainConfig, the hook and the capture's identity
 *
 * Resuming checks hook, variant, widths, k and capture against the run being asked for and
 * refuses a mismatch with a message naming the field (a wrong resume would silently train a
 * different SAE).
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileFormatError, UsageError } from '../src/errors.js';
import { openSafetensors, writeSafetensors, type WritableTensor } from '../src/model/index.js';
import { recoverInterruptedSwap, writeDirAtomic, writeFileAtomic } from '../src/util/atomic-write.js';
import { outWidth, type TrainConfig } from './config.js';
import { writeSaeFiles } from './io.js';
import { PARAM_NAMES, type HostParams } from './params.js';
import type { Sae } from './sae.js';

export const TRAINER_FORMAT = 'interp.sae-trainer';
export const TRAINER_FORMAT_VERSION = 1;
const STATE_FILE = 'trainer_state.safetensors';
const META_FILE = 'trainer.json';

/** What identifies the data a run trains on. */
export interface CaptureRef {
  readonly dir: string;
  readonly modelHash: string;
  readonly datasetSha256: string;
  readonly rows: number;
}

/** trainer.json */
export interface TrainerMeta {
  readonly format: typeof TRAINER_FORMAT;
  readonly format_version: number;
  readonly hook: string;
  /** Transcoders: the output hook (absent or null for an SAE). */
  readonly hookOut?: string | null;
  readonly capture: CaptureRef;
  readonly config: TrainConfig;
  /** Steps done. */
  readonly step: number;
  /** Shuffle epoch and rows of its permutation consumed (held-out rows included). */
  readonly epoch: number;
  readonly position: number;
  /** Input scale s (x' = s·x). */
  readonly scale: number;
  /** Transcoders: output scale s_out (y' = s_out·y); absent or null for an SAE. */
  readonly scaleOut?: number | null;
  /** BatchTopK running threshold, else null. */
  readonly batchThreshold: number | null;
}

/** Host copy of everything trainer_state.safetensors holds. */
export interface TrainerTensors {
  readonly params: HostParams;
  /** Adam first and second moments and the shared step count. */
  readonly adam: { readonly m: HostParams; readonly v: HostParams; readonly step: number };
  /** [d_sae] tokens since each latent last fired. */
  readonly sinceFired: Float64Array;
}

function paramTensors(prefix: string, p: HostParams, cfg: TrainConfig): Record<string, WritableTensor> {
  const { dIn: d, dSae: m } = cfg;
  const o = outWidth(cfg);
  const shapes: Record<string, number[]> = { W_enc: [d, m], b_enc: [m], W_dec: [m, o], b_dec: [o], logThreshold: [m] };
  const out: Record<string, WritableTensor> = {};
  for (const name of PARAM_NAMES) {
    const data = p[name];
    if (data) out[`${prefix}${name}`] = { dtype: 'F32', shape: shapes[name], data };
  }
  return out;
}

/** Writes the checkpoint folder `dir` atomically. */
export function saveCheckpoint(dir: string, sae: Sae, meta: TrainerMeta, t: TrainerTensors): void {
  writeDirAtomic(dir, (tmp) => {
    writeSaeFiles(tmp, sae);
    writeSafetensors(path.join(tmp, STATE_FILE), {
      ...paramTensors('param.', t.params, meta.config),
      ...paramTensors('adam.m.', t.adam.m, meta.config),
      ...paramTensors('adam.v.', t.adam.v, meta.config),
      since_fired: { dtype: 'I64', shape: [meta.config.dSae], data: BigInt64Array.from(t.sinceFired, (v) => BigInt(Math.round(v))) },
    }, { adam_step: String(t.adam.step) });
    writeFileAtomic(path.join(tmp, META_FILE), [Buffer.from(`${JSON.stringify(meta, null, 2)}\n`)]);
  });
}

function readParams(w: ReturnType<typeof openSafetensors>, prefix: string, jump: boolean): HostParams {
  return {
    W_enc: w.readF32(`${prefix}W_enc`),
    b_enc: w.readF32(`${prefix}b_enc`),
    W_dec: w.readF32(`${prefix}W_dec`),
    b_dec: w.readF32(`${prefix}b_dec`),
    logThreshold: jump ? w.readF32(`${prefix}logThreshold`) : null,
  };
}

/**
 * True when `dir` holds a checkpoint, after putting back one that a save killed between its two
 * renames left aside. False for a run killed before its first checkpoint.
 */
export function hasCheckpoint(dir: string): boolean {
  recoverInterruptedSwap(dir);
  return fs.existsSync(path.join(dir, META_FILE));
}

/** Reads a checkpoint folder (FileFormatError naming the file when it is not one). */
export function loadCheckpoint(dir: string): { meta: TrainerMeta; tensors: TrainerTensors } {
  recoverInterruptedSwap(dir); // a save killed between its two renames left the previous checkpoint aside
  const metaFile = path.join(dir, META_FILE);
  if (!fs.existsSync(metaFile)) throw new FileFormatError(`${metaFile}: missing, so ${dir} holds no trainer checkpoint`, 'drop --resume to start a new run, or pass the --out of the run to resume');
  let meta: TrainerMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as TrainerMeta;
  } catch (err) {
    throw new FileFormatError(`${metaFile}: not valid JSON (${(err as Error).message})`, 'the checkpoint is damaged: start a new run');
  }
  if (!isMetaShaped(meta)) {
    throw new FileFormatError(`${metaFile}: not a trainer record (expected an object with format, hook, capture, config and integer step, epoch and position)`, 'the checkpoint is damaged: start a new run');
  }
  if (meta.format !== TRAINER_FORMAT || meta.format_version !== TRAINER_FORMAT_VERSION) {
    throw new FileFormatError(`${metaFile}: format ${String(meta.format)} version ${String(meta.format_version)}, expected ${TRAINER_FORMAT} version ${TRAINER_FORMAT_VERSION}`, 'resume with the interp version that wrote it, or start a new run');
  }
  const w = openSafetensors(path.join(dir, STATE_FILE));
  const jump = meta.config.variant === 'jumprelu';
  const since = w.readInts('since_fired').data;
  const tensors: TrainerTensors = {
    params: readParams(w, 'param.', jump),
    adam: { m: readParams(w, 'adam.m.', jump), v: readParams(w, 'adam.v.', jump), step: Number(w.headers[0].metadata?.adam_step ?? meta.step) },
    sinceFired: Float64Array.from(since),
  };
  checkShapes(path.join(dir, STATE_FILE), meta.config, tensors);
  return { meta, tensors };
}

/** The fields loadCheckpoint and checkResumable read, with the types they use them as. */
function isMetaShaped(v: unknown): v is TrainerMeta {
  const o = v as Record<string, unknown> | null;
  const obj = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!obj(o) || !obj(o?.config) || !obj(o?.capture) || typeof o?.hook !== 'string') return false;
  const c = o.config as Record<string, unknown>;
  return count(o.step) && count(o.epoch) && count(o.position) && count(c.dIn) && count(c.dSae) && typeof c.variant === 'string';
}

/** Every state tensor must have the size the recorded config implies, or the upload would misread it. */
function checkShapes(file: string, cfg: TrainConfig, t: TrainerTensors): void {
  const { dIn: d, dSae: m } = cfg;
  const o = outWidth(cfg);
  const want: [string, Float32Array | Float64Array | null, number][] = [];
  for (const [prefix, p] of [['param.', t.params], ['adam.m.', t.adam.m], ['adam.v.', t.adam.v]] as const) {
    want.push([`${prefix}W_enc`, p.W_enc, d * m], [`${prefix}b_enc`, p.b_enc, m], [`${prefix}W_dec`, p.W_dec, m * o], [`${prefix}b_dec`, p.b_dec, o]);
    if (p.logThreshold) want.push([`${prefix}logThreshold`, p.logThreshold, m]);
  }
  want.push(['since_fired', t.sinceFired, m]);
  for (const [name, x, n] of want) {
    if (x && x.length !== n) throw new FileFormatError(`${file}: ${name} has ${x.length} values, but the checkpoint's config (d_in ${d}, d_sae ${m}${cfg.dOut != null ? `, d_out ${o}` : ''}) needs ${n}`, 'the checkpoint is damaged: start a new run');
  }
}

/**
 * Refuses to resume `meta` into a run of `cfg` on `hook` (and a transcoder's `hookOut`) and
 * `capture`, naming the first difference.
 */
export function checkResumable(dir: string, meta: TrainerMeta, hook: string, cfg: TrainConfig, capture: CaptureRef, hookOut: string | null = null): void {
  const checks: [string, unknown, unknown][] = [
    ['hook', meta.hook, hook],
    ['--hook-out', meta.hookOut ?? null, hookOut],
    ['--arch', meta.config.variant, cfg.variant],
    ['d_out', meta.config.dOut ?? null, cfg.dOut],
    ['d_in', meta.config.dIn, cfg.dIn],
    ['--width (d_sae)', meta.config.dSae, cfg.dSae],
    ['--k', meta.config.k, cfg.k],
    ['--batch-tokens', meta.config.batchTokens, cfg.batchTokens],
    ['--seed', meta.config.seed, cfg.seed],
    ['capture model', meta.capture.modelHash, capture.modelHash],
    ['capture dataset', meta.capture.datasetSha256, capture.datasetSha256],
    ['capture rows', meta.capture.rows, capture.rows],
  ];
  for (const [field, saved, asked] of checks) {
    if (saved !== asked) {
      throw new UsageError(
        `${dir}: cannot resume: the checkpoint was trained with ${field} ${JSON.stringify(saved)}, this run asks for ${JSON.stringify(asked)}`,
        `pass the same ${field} as the checkpoint (see ${path.join(dir, META_FILE)}), or train into a new --out without --resume`,
      );
    }
  }
}
