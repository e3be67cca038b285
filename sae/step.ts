/**
 * One training step of an SAE on the engine: forward, loss, and hand-written backward for each
 * variant (the equations are in reference-train.ts, which tests hold this file to). Call inside
 * `scope()`: everything returned is a fresh tensor, everything else is freed at the scope's end.
 *
 * Vocabulary: B = tokens in the batch, d = d_in, m = d_sae, k = active latents per token.
 * TopK and BatchTopK decode sparsely: the decoder reads, and its gradient writes, only the
 * selected rows of W_dec per token (engine gatherDecode / gatherDecodeBackward); the encoder
 * gradient is a scatter over the same pairs into W_enc's layout (kernels/sparse_encoder.wgsl),
 * so no [B, m] gradient is ever formed.
 * BatchTopK first selects its batch (batchTopkSelection, which reads the widest row back).
 *
 * Transcoders (cfg.dOut = o): the same step with W_dec [m, o], b_dec [o] and a target y [B, o]
 * read at another hook. The encoder sees x itself (SAELens transcoders never subtract b_dec,
 * which lives in the output space), so pre = x W_enc + b_enc, ŷ = f W_dec + b_dec, the loss is
 * (1/B) Σ_b ‖y_b − ŷ_b‖², AuxK reconstructs y − ŷ, and db_dec is Σ_b dŷ_b alone.
 */
import {
  batchTopk, binary, empty, gatherDecode, gatherDecodeBackward, jumpreluBackward, jumpreluForward, matmul, mse,
  reduce, reluBackward, reluForward, scope, topk, unary, zeros, type Tensor,
} from '../src/engine/index.js';
import { outWidth, type TrainConfig } from './config.js';
import { scaleRowsAdd } from './kernels/decoder.js';
import { logThresholdBackward } from './kernels/jumprelu_l0.js';
import { countDense, countRows, countSparse } from './kernels/latents.js';
import { sparseEncoderBackward } from './kernels/sparse_encoder.js';
import type { SaeParams } from './params.js';

/** Dead latents for AuxK this step. */
export interface DeadLatents {
  /** [m]: 0 for a dead latent, −1e30 for a live one (added to pre-activations before top-k). */
  readonly bias: Tensor;
  /** Number of dead latents (> 0). */
  readonly count: number;
}

export interface StepInput {
  /** [B, d] scaled activations. */
  readonly x: Tensor;
  /** Transcoders: [B, o] scaled targets at the output hook, rows matching x; SAEs: absent (the target is x). */
  readonly y?: Tensor;
  /** λ this step (after warm-up). */
  readonly lambda: number;
  /** Dead latents (topk, batchtopk), or null when none are dead. */
  readonly dead: DeadLatents | null;
  /** BatchTopK only: the batch's selection (batchTopkSelection). */
  readonly selection?: BatchSelection | null;
}

export interface Grads {
  readonly W_enc: Tensor;
  readonly b_enc: Tensor;
  readonly W_dec: Tensor;
  readonly b_dec: Tensor;
  readonly logThreshold: Tensor | null;
}

export interface StepOutput {
  /** [1] (1/B) Σ_b ‖x_b − x̂_b‖² (transcoders: ‖y_b − ŷ_b‖²). */
  readonly mse: Tensor;
  /** [1] relu's λ-weighted L1, or null (jumprelu's L0 is λ/B · Σ counts, computed by the caller). */
  readonly sparsity: Tensor | null;
  /** [1] AuxK loss, or null when no latent is dead. */
  readonly aux: Tensor | null;
  /** [m] u32: tokens of this batch on which each latent fired. */
  readonly counts: Tensor;
  /** [1] (k·B)-th largest activation of the batch (batchtopk), else null. */
  readonly batchThreshold: Tensor | null;
  readonly grads: Grads;
}

/** A copy of `t` with another shape of the same size (the engine has no views). */
export function reshaped(t: Tensor, shape: readonly number[]): Tensor {
  const out = empty(t.gpu, shape, t.dtype);
  if (out.size !== t.size) throw new Error(`reshaped: ${t.describe()} to [${shape.join(', ')}]`);
  const encoder = t.gpu.device.createCommandEncoder({ label: 'sae reshape' });
  if (t.size > 0) encoder.copyBufferToBuffer(t.buffer, 0, out.buffer, 0, t.size * 4);
  t.gpu.device.queue.submit([encoder.finish()]);
  return out;
}

/** Reconstruction loss and its gradient dx̂ = 2(x̂ − x)/B (mse averages over B·d; scale by d). */
function reconstruction(xhat: Tensor, x: Tensor, d: number): { loss: Tensor; dy: Tensor } {
  const r = mse(xhat, x, { grad: true, gradScale: d });
  return { loss: unary('affine', r.loss, { alpha: d }), dy: r.grad! };
}

/** What the encoder reads: x − b_dec for an SAE, x itself for a transcoder. */
export function encoderInput(cfg: TrainConfig, p: SaeParams, x: Tensor): Tensor {
  return cfg.dOut === null ? binary('sub', x, p.b_dec) : x;
}

/** What the decoder's output is compared with: x for an SAE, the step's y for a transcoder. */
function targetOf(cfg: TrainConfig, input: StepInput): Tensor {
  if (cfg.dOut === null) return input.x;
  if (!input.y) throw new Error('trainStep: a transcoder step needs input.y, the rows at the output hook');
  return input.y;
}

/**
 * db_dec: Σ_b dx̂_b (`dbDec` [o]), less the encoder part W_enc · Σ_b dpre_b for an SAE (its
 * encoder reads x − b_dec); given Σ_b dpre_b as [m, 1].
 */
function encoderBiasGrad(cfg: TrainConfig, p: SaeParams, dbEncCol: Tensor, dbDec: Tensor): Tensor {
  if (cfg.dOut !== null) return dbDec;
  const d = p.W_enc.shape[0];
  return binary('sub', dbDec, reshaped(matmul(p.W_enc, dbEncCol), [d]));
}

interface AuxOutput {
  readonly loss: Tensor;
  /** [B, kAux'] values and indices of the chosen dead latents, and their gradients. */
  readonly values: Tensor;
  readonly indices: Tensor;
  readonly dValues: Tensor;
}

/**
 * AuxK (Gao et al. 2024, appendix A.2): the top-k' dead latents' raw pre-activations decode the
 * residual x − x̂ (held constant); adds their decoder-row gradient into dW_dec.
 */
function auxK(cfg: TrainConfig, p: SaeParams, pre: Tensor, x: Tensor, xhat: Tensor, dead: DeadLatents, dWdec: Tensor): AuxOutput {
  const o = outWidth(cfg);
  const kk = Math.min(cfg.kAux, dead.count);
  const coef = cfg.auxkCoefficient * Math.min(dead.count / cfg.kAux, 1);
  const chosen = topk(binary('add', pre, dead.bias), kk);
  const ehat = gatherDecode(chosen.values, chosen.indices, p.W_dec);
  const r = mse(ehat, binary('sub', x, xhat), { grad: true, gradScale: o * coef });
  const g = gatherDecodeBackward(r.grad!, chosen.values, chosen.indices, p.W_dec, dWdec);
  return { loss: unary('affine', r.loss, { alpha: o * coef }), values: chosen.values, indices: chosen.indices, dValues: g.dVals };
}

/** The latents a sparse step decodes: k per row (TopK) or the batch's selection (BatchTopK). */
interface SparseLatents {
  /** [B, m] pre-activations (AuxK reads them). */
  readonly pre: Tensor;
  /** [B, w] activations ≥ 0 and [B, w] u32 their latents; entries of value 0 decode nothing. */
  readonly values: Tensor;
  readonly indices: Tensor;
  /** [B, w] what ReLU saw (its backward masks by it > 0). */
  readonly mask: Tensor;
  readonly batchThreshold: Tensor | null;
}

/**
 * The sparse step (TopK, BatchTopK): gather decode, and decoder and encoder gradients as
 * scatters over the selected latents only — no [B, m] gradient is formed.
 */
function sparseStep(cfg: TrainConfig, p: SaeParams, input: StepInput, xc: Tensor, sel: SparseLatents): StepOutput {
  const { x } = input;
  const target = targetOf(cfg, input); // x, or a transcoder's y
  const [d, m] = [cfg.dIn, cfg.dSae];
  const { values, indices } = sel;
  // forward and loss
  const xhat = binary('add', gatherDecode(values, indices, p.W_dec), p.b_dec); // [B, o]
  const rec = reconstruction(xhat, target, outWidth(cfg));
  // backward: decoder rows (only the selected ones change), then the encoder through the same scatter
  const g = gatherDecodeBackward(rec.dy, values, indices, p.W_dec); // dVals [B, w], dW [m, o]
  const aux = input.dead ? auxK(cfg, p, sel.pre, target, xhat, input.dead, g.dW) : null;
  const dSel = reluBackward(g.dVals, sel.mask);
  const dWenc = zeros(x.gpu, [d, m]);
  const dbEnc = zeros(x.gpu, [m]);
  sparseEncoderBackward(dWenc, dbEnc, dSel, indices, xc); // only the selected (token, latent) pairs
  if (aux) sparseEncoderBackward(dWenc, dbEnc, aux.dValues, aux.indices, xc);
  const counts = zeros(x.gpu, [m], 'u32');
  countSparse(counts, values, indices);
  const dbDec = encoderBiasGrad(cfg, p, reshaped(dbEnc, [m, 1]), reduce(rec.dy, 'sum', 'cols'));
  const grads: Grads = { W_enc: dWenc, b_enc: dbEnc, W_dec: g.dW, b_dec: dbDec, logThreshold: null };
  return { mse: rec.loss, sparsity: null, aux: aux?.loss ?? null, counts, batchThreshold: sel.batchThreshold, grads };
}

/** TopK: the k largest pre-activations of each row, through ReLU (Gao et al. 2024). */
function topkStep(cfg: TrainConfig, p: SaeParams, input: StepInput): StepOutput {
  const xc = encoderInput(cfg, p, input.x); // [B, d]
  const pre = matmul(xc, p.W_enc, { bias: p.b_enc }); // [B, m]
  const top = topk(pre, cfg.k!); // [B, k]
  return sparseStep(cfg, p, input, xc, { pre, values: reluForward(top.values), indices: top.indices, mask: top.values, batchThreshold: null });
}

/** BatchTopK's selection of a batch, made before its step (see batchTopkSelection). */
export interface BatchSelection {
  /** [B, m] pre-activations. */
  readonly pre: Tensor;
  /** [B, w] kept activations per row, descending (w = the widest row; zeros pad narrower rows). */
  readonly values: Tensor;
  /** [B, w] u32 */
  readonly indices: Tensor;
  /** [1] the (k·B)-th largest activation of the batch. */
  readonly threshold: Tensor;
}

/**
 * BatchTopK (Bussmann et al. 2024): keep the k·B largest of max(pre, 0) over the batch, then
 * gather each row's kept latents into [B, w] with w the widest row, so decode and gradients
 * stay sparse. w is read back from the GPU (one wait), which is why this runs before the step,
 * outside its scope. The caller disposes pre, values and indices (disposeSelection).
 */
export async function batchTopkSelection(cfg: TrainConfig, p: SaeParams, x: Tensor): Promise<BatchSelection> {
  const B = x.shape[0];
  const first = scope(() => {
    const pre = matmul(encoderInput(cfg, p, x), p.W_enc, { bias: p.b_enc });
    const kept = batchTopk(reluForward(pre), cfg.k!);
    const perRow = zeros(x.gpu, [B], 'u32');
    countRows(perRow, kept.values);
    return { pre, kept: kept.values, threshold: kept.threshold, perRow };
  });
  const widths = (await first.perRow.download()) as Uint32Array;
  first.perRow.dispose();
  const w = Math.max(1, widths.reduce((a, v) => Math.max(a, v), 0));
  const top = scope(() => topk(first.kept, w));
  first.kept.dispose();
  return { pre: first.pre, values: top.values, indices: top.indices, threshold: first.threshold };
}

/** Frees what batchTopkSelection returned (the threshold moves on to the step's output). */
export function disposeSelection(sel: BatchSelection | null): void {
  if (!sel) return;
  for (const t of [sel.pre, sel.values, sel.indices]) t.dispose();
}

function batchTopkStep(cfg: TrainConfig, p: SaeParams, input: StepInput): StepOutput {
  const sel = input.selection;
  if (!sel) throw new Error('batchtopk: trainStep needs input.selection from batchTopkSelection');
  const xc = encoderInput(cfg, p, input.x);
  return sparseStep(cfg, p, input, xc, { pre: sel.pre, values: sel.values, indices: sel.indices, mask: sel.values, batchThreshold: sel.threshold });
}

/** Activations of the dense variants, and what their backward needs. */
interface DenseActivation {
  /** [B, m] */
  readonly f: Tensor;
  readonly theta: Tensor | null;
}

function denseActivate(cfg: TrainConfig, p: SaeParams, pre: Tensor): DenseActivation {
  switch (cfg.variant) {
    case 'relu':
      return { f: reluForward(pre), theta: null };
    case 'jumprelu': {
      const theta = unary('exp', p.logThreshold!);
      return { f: jumpreluForward(pre, theta), theta };
    }
    case 'topk':
    case 'batchtopk':
      throw new Error(`${cfg.variant} uses the sparse step`);
  }
}

/** ReLU and JumpReLU: dense activations [B, m], dense decode. */
function denseStep(cfg: TrainConfig, p: SaeParams, input: StepInput): StepOutput {
  const { x, lambda } = input;
  const [B, m] = [x.shape[0], cfg.dSae];
  // forward
  const xc = encoderInput(cfg, p, x);
  const pre = matmul(xc, p.W_enc, { bias: p.b_enc }); // [B, m]
  const act = denseActivate(cfg, p, pre);
  const xhat = matmul(act.f, p.W_dec, { bias: p.b_dec }); // [B, o]
  // loss and backward through the decoder
  const rec = reconstruction(xhat, targetOf(cfg, input), outWidth(cfg));
  const dWdec = matmul(act.f, rec.dy, { transA: true }); // [m, o]
  let df = matmul(rec.dy, p.W_dec, { transB: true }); // [B, m]
  let sparsity: Tensor | null = null;
  let dpre: Tensor;
  let dLogThreshold: Tensor | null = null;
  switch (cfg.variant) {
    case 'relu': {
      // λ/B Σ f_bi ‖W_dec,i‖: df += λ/B ‖W_i‖; dW_dec,i += λ/B (Σ_b f_bi) W_i/‖W_i‖.
      const norms = reduce(p.W_dec, 'norm', 'rows'); // [m]
      const fsum = reduce(act.f, 'sum', 'cols'); // [m]
      df = binary('add', df, unary('affine', norms, { alpha: lambda / B }));
      scaleRowsAdd(dWdec, p.W_dec, binary('div', fsum, norms), lambda / B);
      sparsity = unary('affine', matmul(reshaped(fsum, [1, m]), reshaped(norms, [m, 1])), { alpha: lambda / B });
      sparsity = reshaped(sparsity, [1]);
      dpre = reluBackward(df, pre);
      break;
    }
    case 'jumprelu': {
      const jb = jumpreluBackward(df, pre, act.theta!, cfg.bandwidth);
      dpre = jb.dx;
      dLogThreshold = logThresholdBackward(pre, act.theta!, jb.dTheta, cfg.bandwidth, lambda / B);
      break;
    }
    case 'topk':
    case 'batchtopk':
      throw new Error(`${cfg.variant} uses the sparse step`);
  }
  // encoder
  const dbEnc = reduce(dpre, 'sum', 'cols'); // [m]
  const counts = zeros(x.gpu, [m], 'u32');
  countDense(counts, act.f);
  const grads: Grads = {
    W_enc: matmul(xc, dpre, { transA: true }), // [d, m]
    b_enc: dbEnc,
    W_dec: dWdec,
    b_dec: encoderBiasGrad(cfg, p, reshaped(dbEnc, [m, 1]), reduce(rec.dy, 'sum', 'cols')),
    logThreshold: dLogThreshold,
  };
  return { mse: rec.loss, sparsity, aux: null, counts, batchThreshold: null, grads };
}

/** Forward, loss and backward of one step (call inside `scope()`). */
export function trainStep(cfg: TrainConfig, p: SaeParams, input: StepInput): StepOutput {
  switch (cfg.variant) {
    case 'topk':
      return topkStep(cfg, p, input);
    case 'batchtopk':
      return batchTopkStep(cfg, p, input);
    case 'relu':
    case 'jumprelu':
      return denseStep(cfg, p, input);
  }
}
