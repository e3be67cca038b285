/**
 * SAE training as named steps (after sparsify's Trainer, without its one long fit): `prepare`
 * (capture, split, scale, initial or resumed state), then per step `nextBatch` → `step`
 * (forward, loss, backward, Adam, decoder projection; trainStep + updateParams) → `record`
 * (losses, firing counts, dead latents) → `maybeCheckpoint`; then `finish` (save the SAE,
 * evaluate on held-out sequences). Each step's tensors live in an engine scope, so memory stays
 * flat over any number of steps.
 *
 * Input scaling (SAELens normalize_activations "expected_average_only_in"): x' = s·x with
 * s = √d / E‖x‖ from the capture's exact statistics; the saved SAE has s folded in (params.ts).
 *
 * Transcoders (`hookOut`): the same loop on pairs (x at `hook`, y at `hookOut`) of the same
 * capture rows, learning ŷ = TopK(x W_enc + b_enc) W_dec + b_dec against y (step.ts). x and y are
 * scaled separately (s_in = √d / E‖x‖, s_out = √o / E‖y‖) and both are folded on save
 * (foldTranscoder): W_enc·s_in, W_dec / s_out, b_dec / s_out.
 */
import path from 'node:path';
import { getGpu, keep, scope, upload, type AdamState, type Gpu, type Tensor } from '../src/engine/index.js';
import { UsageError } from '../src/errors.js';
import type { Capture } from '../src/store/index.js';
import { loadCheckpoint, saveCheckpoint, checkResumable, TRAINER_FORMAT, TRAINER_FORMAT_VERSION, type CaptureRef, type TrainerMeta } from './checkpoint.js';
import { DEFAULT_EXPANSION, defaultTokens, outWidth, sparsityAt, trainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { trainBatches, type StreamPosition, type TrainBatch } from './data.js';
import { downloadF32, downloadParams, foldToSae, initialParams, normalSampler, type HostParams, type SaeParams } from './params.js';
import type { Sae, SaeConfig, SaeMetadata } from './sae.js';
import { heldOutRows, heldOutSequences } from './split.js';
import { batchTopkSelection, disposeSelection, trainStep, type StepOutput } from './step.js';
import { adamStates, disposeAdamStates, updateParams, type AdamStates } from './update.js';
import { SAE_LENS_VERSION } from './io.js';

/** What the progress callback sees after each step. */
export interface TrainProgress {
  readonly step: number;
  readonly steps: number;
  readonly tokens: number;
  /** Total loss of the step's batch (MSE + sparsity + AuxK), scaled space. */
  readonly loss: number;
  readonly l0: number;
  /** 1 − Σ‖x − x̂‖² / Σ‖x − x̄_batch‖² over the batch (transcoders: of y, the output hook). */
  readonly explainedVariance: number;
  /** Latents that have not fired in the last `deadTokens` training tokens. */
  readonly deadFraction: number;
}

export interface TrainSaeOptions {
  readonly capture: Capture;
  readonly hook: string;
  /**
   * Train a transcoder: the hook of the same capture whose value it predicts from `hook`'s
   * (e.g. blocks.L.ln2.hook_normalized → blocks.L.hook_mlp_out). TopK only; absent: an SAE.
   */
  readonly hookOut?: string;
  /** Checkpoints go to `${out}/checkpoint`. */
  readonly out: string;
  /**
   * Everything but d_in, which the hook fixes. d_sae defaults to `expansion` (default 32) × d_in,
   * and `tokens` to one pass over the capture but at least 2M (defaultTokens).
   */
  readonly config: Omit<TrainConfigInput, 'dIn' | 'dSae'> & { readonly dSae?: number; readonly expansion?: number };
  readonly resume?: boolean;
  /** Recorded in cfg.json metadata (model_name, context_size, ...). */
  readonly metadata?: Partial<SaeMetadata>;
  readonly progress?: (p: TrainProgress) => void;
}

export interface TrainSaeResult {
  readonly sae: Sae;
  readonly config: TrainConfig;
  readonly steps: number;
  readonly tokens: number;
  readonly resumed: boolean;
  readonly seconds: number;
  /** Held-out sequence predicate used (for evaluation). */
  readonly heldOut: (seq: number) => boolean;
  /** Latents that had not fired in the last `deadTokens` training tokens when training ended. */
  readonly deadFractionTraining: number;
  /** Rows of the held-out sequences (the evaluation set's size). */
  readonly heldOutTokens: number;
  /** Input scale s the SAE was trained under (folded into the saved weights). */
  readonly scale: number;
  /** Transcoders: the output scale s_out (folded too); null for an SAE. */
  readonly scaleOut: number | null;
}

/** Mutable state of a run: everything a checkpoint records. */
interface RunState {
  readonly gpu: Gpu;
  readonly cfg: TrainConfig;
  readonly params: SaeParams;
  readonly adam: AdamStates;
  readonly sinceFired: Float64Array;
  step: number;
  at: StreamPosition;
  batchThreshold: number | null;
  readonly scale: number;
  /** Transcoders: s_out; null for an SAE. */
  readonly scaleOut: number | null;
  readonly steps: number;
  readonly captureRef: CaptureRef;
}

export const checkpointDir = (out: string): string => path.join(out, 'checkpoint');

function captureRef(capture: Capture): CaptureRef {
  return { dir: path.resolve(capture.dir), modelHash: capture.manifest.model.hash, datasetSha256: capture.manifest.dataset.sha256, rows: capture.rows };
}

function adamFrom(gpu: Gpu, m: Float32Array, v: Float32Array, shape: number[], step: number): AdamState {
  return { m: keep(upload(gpu, m, shape)), v: keep(upload(gpu, v, shape)), step };
}

/** Parameter shapes: W_enc [d, m], b_enc [m], W_dec [m, o], b_dec [o], logThreshold [m]. */
function paramShapes(cfg: TrainConfig): Record<keyof HostParams, number[]> {
  const o = outWidth(cfg);
  return { W_enc: [cfg.dIn, cfg.dSae], b_enc: [cfg.dSae], W_dec: [cfg.dSae, o], b_dec: [o], logThreshold: [cfg.dSae] };
}

/** Uploads host parameters at the config's shapes (kept out of any scope). */
function uploadTrainParams(gpu: Gpu, h: HostParams, cfg: TrainConfig): SaeParams {
  const shapes = paramShapes(cfg);
  const up = (data: Float32Array, shape: number[]) => keep(upload(gpu, data, shape));
  return {
    W_enc: up(h.W_enc, shapes.W_enc), b_enc: up(h.b_enc, shapes.b_enc), W_dec: up(h.W_dec, shapes.W_dec), b_dec: up(h.b_dec, shapes.b_dec),
    logThreshold: h.logThreshold ? up(h.logThreshold, shapes.logThreshold) : null,
  };
}

/**
 * The output hook of a transcoder run, checked against the capture: present, not the input
 * hook, and holding a value for every row the input hook has (the pairs are the two columns of
 * one row, so equal counts mean the rows line up).
 */
function outputHook(o: TrainSaeOptions): { name: string; d: number } | null {
  if (o.hookOut === undefined) return null;
  const capture = o.capture;
  const name = capture.hook(o.hookOut); // UnknownHookError listing the capture's hooks
  if (name === o.hook) throw new UsageError(`--hook-out ${name} is the input hook`, 'a transcoder predicts another hook (e.g. --hook blocks.L.ln2.hook_normalized --hook-out blocks.L.hook_mlp_out); train an SAE without --hook-out');
  const [inRows, outRows] = [capture.stats(o.hook).count, capture.stats(name).count];
  if (inRows !== outRows || outRows !== capture.rows) {
    throw new UsageError(`${capture.dir}: hook ${o.hook} has ${inRows} rows and ${name} ${outRows} (capture rows ${capture.rows}), so input and output rows do not line up`, 'capture both hooks in one run (interp capture --hooks IN,OUT)');
  }
  return { name, d: capture.hooks[capture.hookIndex(name)].d };
}

/** s = √d / E‖x‖ of a hook, refusing a hook whose mean norm is 0 or not finite. */
function hookScale(o: TrainSaeOptions, hook: string, d: number): number {
  const stats = o.capture.stats(hook);
  if (!(stats.meanNorm > 0) || !Number.isFinite(stats.meanNorm)) {
    throw new UsageError(`${o.capture.dir}: hook ${hook} has mean norm ${stats.meanNorm} over ${stats.count} rows, so inputs cannot be scaled to E‖x‖ = √d`, 'check the capture: its activations are all zero or not finite');
  }
  return Math.sqrt(d) / stats.meanNorm;
}

/** Builds the run: fresh parameters, or the checkpoint under `out` when resuming. */
async function prepare(o: TrainSaeOptions): Promise<RunState> {
  const spec = o.capture.hooks[o.capture.hookIndex(o.hook)];
  const out = outputHook(o);
  const { expansion, ...given } = o.config;
  const batchTokens = given.batchTokens ?? 4096;
  const cfg = trainConfig({
    ...given,
    dIn: spec.d,
    ...(out ? { dOut: out.d } : {}),
    dSae: given.dSae ?? Math.round((expansion ?? DEFAULT_EXPANSION) * spec.d),
    batchTokens,
    tokens: given.tokens ?? defaultTokens(o.capture.rows, batchTokens),
  });
  const stats = o.capture.stats(o.hook);
  const gpu = await getGpu();
  const ref = captureRef(o.capture);
  const steps = Math.floor(cfg.tokens / cfg.batchTokens);
  const shapes = paramShapes(cfg);
  if (o.resume) {
    const dir = checkpointDir(o.out);
    const { meta, tensors } = loadCheckpoint(dir);
    checkResumable(dir, meta, o.hook, cfg, ref, out?.name ?? null);
    const params = uploadTrainParams(gpu, tensors.params, cfg);
    const a = tensors.adam;
    const adam: AdamStates = {
      W_enc: adamFrom(gpu, a.m.W_enc, a.v.W_enc, shapes.W_enc, a.step),
      b_enc: adamFrom(gpu, a.m.b_enc, a.v.b_enc, shapes.b_enc, a.step),
      W_dec: adamFrom(gpu, a.m.W_dec, a.v.W_dec, shapes.W_dec, a.step),
      b_dec: adamFrom(gpu, a.m.b_dec, a.v.b_dec, shapes.b_dec, a.step),
      logThreshold: a.m.logThreshold && a.v.logThreshold ? adamFrom(gpu, a.m.logThreshold, a.v.logThreshold, shapes.logThreshold, a.step) : null,
    };
    return { gpu, cfg, params, adam, sinceFired: tensors.sinceFired, step: meta.step, at: { epoch: meta.epoch, position: meta.position }, batchThreshold: meta.batchThreshold, scale: meta.scale, scaleOut: meta.scaleOut ?? null, steps, captureRef: ref };
  }
  // s = √d / E‖x‖ (SAELens "expected_average_only_in"); b_dec starts at the scaled data mean
  // (of y for a transcoder).
  const scale = hookScale(o, o.hook, cfg.dIn);
  const scaleOut = out ? hookScale(o, out.name, out.d) : null;
  const host = out && scaleOut !== null
    ? initialTranscoderParams(cfg, o.capture.stats(out.name).mean.map((v) => v * scaleOut))
    : initialParams(cfg, stats.mean.map((v) => v * scale));
  const params = uploadTrainParams(gpu, host, cfg);
  return { gpu, cfg, params, adam: adamStates(params), sinceFired: new Float64Array(cfg.dSae), step: 0, at: { epoch: 0, position: 0 }, batchThreshold: null, scale, scaleOut, steps, captureRef: ref };
}

/**
 * Initial transcoder parameters. Input and output live in different spaces, so the SAE's
 * W_enc = W_decᵀ has no meaning here: decoder rows are random unit directions of the output
 * space (kept unit, as TopK SAEs), encoder columns independent random directions of the input
 * space at norm 1/√k: on inputs scaled to E‖x‖ = √d each pre-activation is then about
 * N(0, 1/k), so the first output (k random unit rows weighted by the k largest) has a norm of
 * about the largest normal value (2–3), not √k times that as with unit encoder columns, and
 * stays below ‖y' − ȳ'‖ ≈ √o; b_enc = 0; b_dec = the scaled mean of y.
 */
export function initialTranscoderParams(cfg: TrainConfig, scaledMeanOut: ArrayLike<number>): HostParams {
  const { dIn: d, dSae: m } = cfg;
  const o = outWidth(cfg);
  const normal = normalSampler(cfg.seed ^ 0x7c0de);
  const unitRows = (rows: number, width: number, norm: number): Float32Array => {
    const out = new Float32Array(rows * width);
    const row = new Float64Array(width);
    for (let i = 0; i < rows; i++) {
      let ss = 0;
      for (let j = 0; j < width; j++) { row[j] = normal(); ss += row[j] ** 2; }
      for (let j = 0; j < width; j++) out[i * width + j] = (row[j] * norm) / Math.sqrt(ss);
    }
    return out;
  };
  const W_dec = unitRows(m, o, cfg.decoderInitNorm); // [m, o]
  const columns = unitRows(m, d, 1 / Math.sqrt(cfg.k ?? 1)); // [m, d]: column i of W_enc
  const W_enc = new Float32Array(d * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) W_enc[j * m + i] = columns[i * d + j];
  return { W_enc, b_enc: new Float32Array(m), W_dec, b_dec: Float32Array.from(scaledMeanOut), logThreshold: null };
}

/** AuxK's dead-latent bias row, or null when no latent is dead (or the variant has no AuxK). */
function deadLatents(s: RunState): { bias: Tensor; count: number } | null {
  if (s.cfg.variant !== 'topk' && s.cfg.variant !== 'batchtopk') return null;
  let count = 0;
  const bias = new Float32Array(s.cfg.dSae);
  for (let i = 0; i < bias.length; i++) {
    if (s.sinceFired[i] >= s.cfg.deadTokens) count++;
    else bias[i] = -1e30;
  }
  return count > 0 ? { bias: upload(s.gpu, bias, [bias.length]), count } : null;
}

/** A step's outputs without its gradients (those die with the step's scope). */
type StepSummary = Omit<StepOutput, 'grads'>;

/** Forward, backward and update on one batch; returns the step's small outputs (kept). */
async function step(s: RunState, batch: TrainBatch): Promise<StepSummary> {
  const x = keep(upload(s.gpu, batch.x, [batch.rows, s.cfg.dIn]));
  const y = batch.y ? keep(upload(s.gpu, batch.y, [batch.rows, outWidth(s.cfg)])) : undefined;
  const selection = s.cfg.variant === 'batchtopk' ? await batchTopkSelection(s.cfg, s.params, x) : null;
  try {
    return scope(() => {
      const out = trainStep(s.cfg, s.params, { x, ...(y ? { y } : {}), lambda: sparsityAt(s.cfg, s.step, s.steps), dead: deadLatents(s), selection });
      updateParams(s.cfg, s.params, out.grads, s.adam, s.cfg.lr);
      const summary: StepSummary = { mse: out.mse, sparsity: out.sparsity, aux: out.aux, counts: out.counts, batchThreshold: out.batchThreshold };
      return summary;
    });
  } finally {
    x.dispose();
    y?.dispose();
    disposeSelection(selection);
  }
}

async function scalar(t: Tensor | null): Promise<number> {
  if (!t) return 0;
  const v = (await downloadF32(t))[0];
  t.dispose();
  return v;
}

/** Reads the step's losses and counts, updates dead-latent counters and the BatchTopK threshold. */
async function record(s: RunState, batch: TrainBatch, out: StepSummary): Promise<TrainProgress> {
  const mse = await scalar(out.mse);
  const aux = await scalar(out.aux);
  let sparsity = await scalar(out.sparsity);
  const counts = (await out.counts.download()) as Uint32Array;
  out.counts.dispose();
  const t = out.batchThreshold ? await scalar(out.batchThreshold) : null;
  // BatchTopK threshold: running average of the smallest kept activation (SAELens topk_threshold_lr).
  if (t !== null && t > 0) s.batchThreshold = s.batchThreshold === null ? t : s.batchThreshold + s.cfg.thresholdRate * (t - s.batchThreshold);
  let fired = 0;
  let dead = 0;
  for (let i = 0; i < counts.length; i++) {
    fired += counts[i];
    s.sinceFired[i] = counts[i] > 0 ? 0 : s.sinceFired[i] + batch.rows;
    if (s.sinceFired[i] >= s.cfg.deadTokens) dead++;
  }
  if (s.cfg.variant === 'jumprelu') sparsity = (sparsityAt(s.cfg, s.step, s.steps) / batch.rows) * fired;
  s.step += 1;
  s.at = batch.next;
  return {
    step: s.step, steps: s.steps, tokens: s.step * s.cfg.batchTokens, loss: mse + sparsity + aux,
    l0: fired / batch.rows, explainedVariance: 1 - (mse * batch.rows) / centredSquares(batch.y ?? batch.x, batch.rows, outWidth(s.cfg)),
    deadFraction: dead / s.cfg.dSae,
  };
}

/** Σ_b ‖x_b − x̄‖² of a batch (float64). */
function centredSquares(x: Float32Array, rows: number, d: number): number {
  const mean = new Float64Array(d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) mean[j] += x[r * d + j] / rows;
  let s = 0;
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) s += (x[r * d + j] - mean[j]) ** 2;
  return s;
}

/** The SAELens-form SAE (or transcoder) of the current parameters. */
async function currentSae(s: RunState, o: TrainSaeOptions): Promise<Sae> {
  const metadata: SaeMetadata = {
    sae_lens_version: SAE_LENS_VERSION, model_name: '', hook_name: o.hook, hook_head_index: null, context_size: 0, prepend_bos: true,
    model_from_pretrained_kwargs: { center_writing_weights: false },
    ...o.metadata,
    interp_variant: s.cfg.variant, interp_training_tokens: s.step * s.cfg.batchTokens, interp_input_scale: s.scale,
  };
  const host = await downloadParams(s.params);
  if (s.scaleOut === null) return foldToSae(s.cfg, host, { scale: s.scale, batchThreshold: s.batchThreshold, metadata });
  const hookOut = o.capture.hook(o.hookOut as string);
  return foldTranscoder(s.cfg, host, { scaleIn: s.scale, scaleOut: s.scaleOut, metadata: { ...metadata, hook_name_out: hookOut, interp_output_scale: s.scaleOut } });
}

/** What a saved transcoder records besides its weights. */
export interface TranscoderFoldOptions {
  /** s_in: x' = s_in·x. */
  readonly scaleIn: number;
  /** s_out: y' = s_out·y. */
  readonly scaleOut: number;
  /** Must name hook_name (input) and hook_name_out (output). */
  readonly metadata: SaeMetadata;
}

/**
 * The SAELens-form TopK transcoder of parameters trained on (s_in·x, s_out·y). Trained:
 * f = TopK(s_in x W_enc + b_enc), ŷ' = f W_dec + b_dec ≈ s_out y. Saved: f = TopK(x W_enc* + b_enc),
 * ŷ = f W_dec* + b_dec* with W_enc* = s_in·W_enc, W_dec* = W_dec / s_out, b_dec* = b_dec / s_out:
 * the same pre-activations and f, and ŷ = ŷ' / s_out. apply_b_dec_to_input is false (SAELens
 * transcoders never subtract b_dec).
 */
export function foldTranscoder(cfg: TrainConfig, h: HostParams, o: TranscoderFoldOptions): Sae {
  if (cfg.dOut === null || cfg.variant !== 'topk') throw new Error('foldTranscoder: needs a TopK transcoder config (dOut set)');
  const weights = {
    W_enc: h.W_enc.map((v) => v * o.scaleIn),
    b_enc: Float32Array.from(h.b_enc),
    W_dec: h.W_dec.map((v) => v / o.scaleOut),
    b_dec: h.b_dec.map((v) => v / o.scaleOut),
    threshold: null,
  };
  const saeCfg: SaeConfig = {
    architecture: 'topk', d_in: cfg.dIn, d_sae: cfg.dSae, d_out: cfg.dOut, k: cfg.k, dtype: 'float32', device: 'cpu',
    apply_b_dec_to_input: false, normalize_activations: 'none', reshape_activations: 'none', rescale_acts_by_decoder_norm: false,
    metadata: o.metadata,
  };
  return { cfg: saeCfg, weights };
}

async function writeCheckpoint(s: RunState, o: TrainSaeOptions): Promise<void> {
  const meta: TrainerMeta = {
    format: TRAINER_FORMAT, format_version: TRAINER_FORMAT_VERSION, hook: o.hook, ...(o.hookOut !== undefined ? { hookOut: o.capture.hook(o.hookOut) } : {}), capture: s.captureRef, config: s.cfg,
    step: s.step, epoch: s.at.epoch, position: s.at.position, scale: s.scale, ...(s.scaleOut !== null ? { scaleOut: s.scaleOut } : {}), batchThreshold: s.batchThreshold,
  };
  const a = s.adam;
  const moments = async (pick: (st: AdamState) => Tensor): Promise<HostParams> => ({
    W_enc: await downloadF32(pick(a.W_enc)), b_enc: await downloadF32(pick(a.b_enc)), W_dec: await downloadF32(pick(a.W_dec)), b_dec: await downloadF32(pick(a.b_dec)),
    logThreshold: a.logThreshold ? await downloadF32(pick(a.logThreshold)) : null,
  });
  saveCheckpoint(checkpointDir(o.out), await currentSae(s, o), meta, {
    params: await downloadParams(s.params),
    adam: { m: await moments((st) => st.m), v: await moments((st) => st.v), step: a.W_enc.step },
    sinceFired: s.sinceFired,
  });
}

/** Trains an SAE on `hook` of `capture`; see the file comment for the steps. */
export async function trainSae(o: TrainSaeOptions): Promise<TrainSaeResult> {
  const started = performance.now();
  const s = await prepare(o);
  const heldOut = heldOutSequences(s.cfg.evalFraction);
  const heldOutMask = heldOutRows(o.capture, heldOut);
  try {
    const stream = trainBatches(o.capture, {
      hook: o.hook, d: s.cfg.dIn, batchRows: s.cfg.batchTokens, seed: s.cfg.seed, scale: s.scale, heldOut: heldOutMask, start: s.at,
      ...(s.scaleOut !== null ? { output: { hook: o.capture.hook(o.hookOut as string), d: outWidth(s.cfg), scale: s.scaleOut } } : {}),
    });
    while (s.step < s.steps) {
      const batch = stream.next().value as TrainBatch; // nextBatch
      const out = await step(s, batch);
      const progress = await record(s, batch, out);
      o.progress?.(progress);
      if (s.cfg.checkpointEvery > 0 && s.step % s.cfg.checkpointEvery === 0 && s.step < s.steps) await writeCheckpoint(s, o);
    }
    stream.return(undefined);
    await writeCheckpoint(s, o);
    const sae = await currentSae(s, o);
    return {
      sae, config: s.cfg, steps: s.step, tokens: s.step * s.cfg.batchTokens, resumed: o.resume === true, seconds: (performance.now() - started) / 1000,
      heldOut, heldOutTokens: heldOutMask.reduce((a, v) => a + v, 0), scale: s.scale, scaleOut: s.scaleOut,
      deadFractionTraining: s.sinceFired.filter((t) => t >= s.cfg.deadTokens).length / s.cfg.dSae,
    };
  } finally {
    disposeAdamStates(s.adam);
    for (const t of [s.params.W_enc, s.params.b_enc, s.params.W_dec, s.params.b_dec, s.params.logThreshold]) t?.dispose();
  }
}
