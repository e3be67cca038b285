/**
 * What steering costs, measured against the unsteered model (FORMATS "Metric formulas"):
 *
 * - per-token KL(P_base ‖ P_steer), teacher-forced on the *baseline* continuation: both models
 *   read prompt + baseline generation, and at each position that predicts a generated token the
 *   two next-token distributions are compared. Position promptLength − 1 + i predicts generated
 *   token i, so with `generated` positions the first token's KL is 0 (its choice is made before
 *   any generated position is processed).
 * - CE on neutral text: mean next-token cross-entropy over real positions (position j predicts
 *   token j + 1; nothing is predicted from or into padding), with and without steering at every
 *   position of the neutral text; ΔCE = CE_steer − CE_base is the capability cost. The mean KL
 *   over the same positions is reported beside it.
 *
 * Vocabulary: b = batch rows, p = padded positions, V = vocabulary. Sums are float64.
 */
import type { Intervention } from '../src/runtime/interventions.js';
import type { HookedTransformer } from '../src/runtime/model.js';
import type { HostTensor } from '../src/runtime/tensor.js';

/** Log-softmax of one logit row [V] into `out` (float64). */
function logSoftmax(row: Float32Array, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - lse;
}

/** KL(P ‖ Q) from log-probabilities (terms with P = 0 contribute 0). */
function kl(logP: Float64Array, logQ: Float64Array): number {
  let s = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) s += p * (logP[i] - logQ[i]);
  }
  return Math.max(s, 0);
}

/** The logit row of (row r, padded index i). */
function logitRow(logits: HostTensor, r: number, i: number): Float32Array {
  const [, p, V] = logits.shape;
  return logits.data.subarray((r * p + i) * V, (r * p + i + 1) * V);
}

/** Per-token KL of each continuation: kl[row][i] compares the distributions that predict generated token i. */
export interface ContinuationKl {
  readonly perToken: readonly Float32Array[];
  /** Mean over every generated token of every row (0 when nothing was generated). */
  readonly mean: number;
}

/**
 * Teacher-forced KL(base ‖ steered) on `prompt[r] + continuation[r]`. `steer` builds the runtime
 * interventions for a batch whose rows have the given prompt lengths (positions are absolute, so
 * the same selector means the same here as during generation).
 */
export async function continuationKl(
  model: HookedTransformer,
  prompts: readonly (readonly number[])[],
  continuations: readonly (readonly number[])[],
  steer: (promptLengths: readonly number[]) => readonly Intervention[],
  batchSize = 16,
): Promise<ContinuationKl> {
  const perToken: Float32Array[] = [];
  let sum = 0;
  let count = 0;
  const V = model.config.vocabSize;
  const lp = new Float64Array(V);
  const lq = new Float64Array(V);
  for (let start = 0; start < prompts.length; start += batchSize) {
    const ps = prompts.slice(start, start + batchSize);
    const cs = continuations.slice(start, start + batchSize);
    // The last generated token predicts nothing we compare, so it need not be fed.
    const seqs = ps.map((p, r) => [...p, ...cs[r].slice(0, Math.max(cs[r].length - 1, 0))]);
    const batch = model.batch(seqs);
    const lengths = ps.map((p) => p.length);
    const base = await model.run(batch, {});
    const steered = await model.run(batch, { interventions: steer(lengths) });
    ps.forEach((p, r) => {
      const out = new Float32Array(cs[r].length);
      for (let i = 0; i < cs[r].length; i++) {
        const idx = batch.offsets[r] + p.length - 1 + i;
        logSoftmax(logitRow(base.logits as HostTensor, r, idx), lp);
        logSoftmax(logitRow(steered.logits as HostTensor, r, idx), lq);
        out[i] = kl(lp, lq);
        sum += out[i];
        count++;
      }
      perToken.push(out);
    });
  }
  return { perToken, mean: count ? sum / count : 0 };
}

/** Capability cost on neutral text. */
export interface NeutralCost {
  /** Mean next-token CE (nats) without steering. */
  readonly baseCe: number;
  /** Mean next-token CE (nats) with steering at every position. */
  readonly steeredCe: number;
  /** steeredCe − baseCe. */
  readonly ceDelta: number;
  /** Mean KL(base ‖ steered) over the same positions. */
  readonly kl: number;
  /** Predicted tokens averaged over. */
  readonly tokens: number;
}

/** Mean CE with and without `interventions` (which must select every position, e.g. 'all'). */
export async function neutralCost(model: HookedTransformer, texts: readonly (readonly number[])[], interventions: readonly Intervention[], batchSize = 16): Promise<NeutralCost> {
  const V = model.config.vocabSize;
  const lp = new Float64Array(V);
  const lq = new Float64Array(V);
  let ceBase = 0;
  let ceSteer = 0;
  let klSum = 0;
  let count = 0;
  for (let start = 0; start < texts.length; start += batchSize) {
    const seqs = texts.slice(start, start + batchSize);
    const batch = model.batch(seqs);
    const base = await model.run(batch, {});
    const steered = interventions.length ? await model.run(batch, { interventions }) : base;
    seqs.forEach((seq, r) => {
      for (let j = 0; j + 1 < seq.length; j++) {
        const idx = batch.offsets[r] + j;
        logSoftmax(logitRow(base.logits as HostTensor, r, idx), lp);
        logSoftmax(logitRow(steered.logits as HostTensor, r, idx), lq);
        ceBase -= lp[seq[j + 1]];
        ceSteer -= lq[seq[j + 1]];
        klSum += kl(lp, lq);
        count++;
      }
    });
  }
  const n = Math.max(count, 1);
  return { baseCe: ceBase / n, steeredCe: ceSteer / n, ceDelta: (ceSteer - ceBase) / n, kl: klSum / n, tokens: count };
}

/**
 * Mean ‖h‖ at `hook` over every real token except position 0 (BOS, whose norm in most models is
 * an attention sink's, not content's): the scale that `Nx-norm` coefficients refer to.
 */
export async function hookMeanNorm(model: HookedTransformer, hook: string, texts: readonly (readonly number[])[], batchSize = 16): Promise<number> {
  const name = model.hook(hook).name;
  let sum = 0;
  let count = 0;
  for (let start = 0; start < texts.length; start += batchSize) {
    const seqs = texts.slice(start, start + batchSize);
    const batch = model.batch(seqs);
    const out = await model.run(batch, { fetch: [name], logits: false });
    const h = out.hooks.get(name) as HostTensor;
    const width = h.shape[h.shape.length - 1];
    seqs.forEach((seq, r) => {
      for (let j = 1; j < seq.length; j++) {
        const k = r * batch.positions + batch.offsets[r] + j;
        let s = 0;
        for (let c = 0; c < width; c++) s += h.data[k * width + c] ** 2;
        sum += Math.sqrt(s);
        count++;
      }
    });
  }
  return count ? sum / count : 0;
}
