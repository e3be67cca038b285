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
 */
import path from 'node:path';
import { getGpu, keep, scope, upload, type AdamState, type Gpu, type Tensor } from '../src/engine/index.js';
import { UsageError } from '../src/errors.js';
import type { Capture } from '../src/store/index.js';
import { loadCheckpoint, saveCheckpoint, checkResumable, TRAINER_FORMAT, TRAINER_FORMAT_VERSION, type CaptureRef, type TrainerMeta } from './checkpoint.js';
import { DEFAULT_EXPANSION, defaultTokens, sparsityAt, trainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { trainBatches, type StreamPosition, type TrainBatch } from './data.js';
import { downloadF32, downloadParams, foldToSae, initialParams, uploadParams, type HostParams, type SaeParams } from './params.js';
import type { Sae, SaeMetadata } from './sae.js';
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
  /** 1 − Σ‖x − x̂‖² / Σ‖x − x̄_batch‖² over the batch. */
  readonly explainedVariance: number;
  /** Latents that have not fired in the last `deadTokens` training tokens. */
  readonly deadFraction: number;
}

export interface TrainSaeOptions {
  readonly capture: Capture;
  readonly hook: string;
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

/** Builds the run: fresh parameters, or the checkpoint under `out` when resuming. */
async function prepare(o: TrainSaeOptions): Promise<RunState> {
  const spec = o.capture.hooks[o.capture.hookIndex(o.hook)];
  const { expansion, ...given } = o.config;
  const batchTokens = given.batchTokens ?? 4096;
  const cfg = trainConfig({
    ...given,
    dIn: spec.d,
    dSae: given.dSae ?? Math.round((expansion ?? DEFAULT_EXPANSION) * spec.d),
    batchTokens,
    tokens: given.tokens ?? defaultTokens(o.capture.rows, batchTokens),
  });
  const stats = o.capture.stats(o.hook);
  const gpu = await getGpu();
  const ref = captureRef(o.capture);
  const steps = Math.floor(cfg.tokens / cfg.batchTokens);
  const shapes: Record<keyof HostParams, number[]> = { W_enc: [cfg.dIn, cfg.dSae], b_enc: [cfg.dSae], W_dec: [cfg.dSae, cfg.dIn], b_dec: [cfg.dIn], logThreshold: [cfg.dSae] };
  if (o.resume) {
    const dir = checkpointDir(o.out);
    const { meta, tensors } = loadCheckpoint(dir);
    checkResumable(dir, meta, o.hook, cfg, ref);
    const params = uploadParams(gpu, tensors.params, cfg.dIn, cfg.dSae);
    const a = tensors.adam;
    const adam: AdamStates = {
      W_enc: adamFrom(gpu, a.m.W_enc, a.v.W_enc, shapes.W_enc, a.step),
      b_enc: adamFrom(gpu, a.m.b_enc, a.v.b_enc, shapes.b_enc, a.step),
      W_dec: adamFrom(gpu, a.m.W_dec, a.v.W_dec, shapes.W_dec, a.step),
      b_dec: adamFrom(gpu, a.m.b_dec, a.v.b_dec, shapes.b_dec, a.step),
      logThreshold: a.m.logThreshold && a.v.logThreshold ? adamFrom(gpu, a.m.logThreshold, a.v.logThreshold, shapes.logThreshold, a.step) : null,
    };
    return { gpu, cfg, params, adam, sinceFired: tensors.sinceFired, step: meta.step, at: { epoch: meta.epoch, position: meta.position }, batchThreshold: meta.batchThreshold, scale: meta.scale, steps, captureRef: ref };
  }
  // s = √d / E‖x‖ (SAELens "expected_average_only_in"); b_dec starts at the scaled data mean.
  if (!(stats.meanNorm > 0) || !Number.isFinite(stats.meanNorm)) {
    throw new UsageError(`${o.capture.dir}: hook ${o.hook} has mean norm ${stats.meanNorm} over ${stats.count} rows, so inputs cannot be scaled to E‖x‖ = √d`, 'check the capture: its activations are all zero or not finite');
  }
  const scale = Math.sqrt(cfg.dIn) / stats.meanNorm;
  const params = uploadParams(gpu, initialParams(cfg, stats.mean.map((v) => v * scale)), cfg.dIn, cfg.dSae);
  return { gpu, cfg, params, adam: adamStates(params), sinceFired: new Float64Array(cfg.dSae), step: 0, at: { epoch: 0, position: 0 }, batchThreshold: null, scale, steps, captureRef: ref };
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
  const selection = s.cfg.variant === 'batchtopk' ? await batchTopkSelection(s.cfg, s.params, x) : null;
  try {
    return scope(() => {
      const out = trainStep(s.cfg, s.params, { x, lambda: sparsityAt(s.cfg, s.step, s.steps), dead: deadLatents(s), selection });
      updateParams(s.cfg, s.params, out.grads, s.adam, s.cfg.lr);
      const summary: StepSummary = { mse: out.mse, sparsity: out.sparsity, aux: out.aux, counts: out.counts, batchThreshold: out.batchThreshold };
      return summary;
    });
  } finally {
    x.dispose();
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
    l0: fired / batch.rows, explainedVariance: 1 - (mse * batch.rows) / centredSquares(batch.x, batch.rows, s.cfg.dIn),
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

/** The SAELens-form SAE of the current parameters. */
async function currentSae(s: RunState, o: TrainSaeOptions): Promise<Sae> {
  const metadata: SaeMetadata = {
    sae_lens_version: SAE_LENS_VERSION, model_name: '', hook_name: o.hook, hook_head_index: null, context_size: 0, prepend_bos: true,
    model_from_pretrained_kwargs: { center_writing_weights: false },
    ...o.metadata,
    interp_variant: s.cfg.variant, interp_training_tokens: s.step * s.cfg.batchTokens, interp_input_scale: s.scale,
  };
  return foldToSae(s.cfg, await downloadParams(s.params), { scale: s.scale, batchThreshold: s.batchThreshold, metadata });
}

async function writeCheckpoint(s: RunState, o: TrainSaeOptions): Promise<void> {
  const meta: TrainerMeta = {
    format: TRAINER_FORMAT, format_version: TRAINER_FORMAT_VERSION, hook: o.hook, capture: s.captureRef, config: s.cfg,
    step: s.step, epoch: s.at.epoch, position: s.at.position, scale: s.scale, batchThreshold: s.batchThreshold,
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
      heldOut, heldOutTokens: heldOutMask.reduce((a, v) => a + v, 0), scale: s.scale,
      deadFractionTraining: s.sinceFired.filter((t) => t >= s.cfg.deadTokens).length / s.cfg.dSae,
    };
  } finally {
    disposeAdamStates(s.adam);
    for (const t of [s.params.W_enc, s.params.b_enc, s.params.W_dec, s.params.b_dec, s.params.logThreshold]) t?.dispose();
  }
}
