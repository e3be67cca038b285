/**
 * Model-dependent SAE metrics: how much of the language model's next-token behaviour survives
 * when the SAE's reconstruction x̂ = decode(encode(x)) replaces the activation x at its hook.
 *
 *   CE-loss score  = (CE_zero_ablation − CE_with_SAE) / (CE_zero_ablation − CE_clean)
 *   KL score       = (KL_zero_ablation − KL_SAE) / KL_zero_ablation
 *   delta LM loss  = CE_with_SAE − CE_clean
 *
 * with KL = KL(P_clean ‖ P_modified) of the next-token distribution, each mean taken over all
 * counted positions of the eval set before the ratios are formed (SAELens
 * `get_downstream_reconstruction_metrics`).
 *
 * Which positions count, following SAELens `get_recons_loss` (sae_lens/evals.py) with the
 * ignore set its `run_evals` CLI uses ({bos, eos, pad} of the tokenizer):
 * - Padding never counts (our batches are padded; SAELens' are not).
 * - An *ignored* position is one whose input token is in the ignore set (default: the model's
 *   BOS, EOS and pad ids). The SAE is spliced at every other real position; at ignored positions
 *   the clean activation is kept (SAELens: `torch.where(mask, new_activations, activations)`),
 *   because the BOS residual is an outlier an SAE rarely reconstructs, and downstream attention
 *   leans on it.
 * - CE: position t predicts token t+1 and counts when its *input* token t is not ignored (SAELens
 *   masks the per-token loss with `mask[:, :-1]`); the last position has no target.
 * - KL: every real position whose input token is not ignored, the last one included.
 * - Zero ablation zeroes the same positions the SAE replaces (`zeroAblation: 'spliced'`,
 *   default), so an SAE whose output is exactly zero scores exactly 0. SAELens zeroes every
 *   position, ignored ones too (`'all'`), which also destroys the BOS residual and so makes the
 *   baseline worse and every score higher; choose 'all' to reproduce SAELens numbers.
 *
 * The splice is computed in two forward passes rather than a JavaScript hook: a clean run fetches
 * x at the hook (and the clean logits), x̂ is computed from it (the encoder may be asynchronous,
 * e.g. on the GPU), and a second run `replace`s x by x̂ at the spliced positions. Everything
 * upstream of the hook is unchanged by the splice, so this equals splicing inside one pass.
 *
 * Transcoders (d_out set) are spliced in place of what they replace: the clean run fetches x at
 * hook_name (e.g. ln2.hook_normalized) and the clean value at hook_name_out (e.g. hook_mlp_out),
 * ŷ = decode(encode(x)) replaces hook_name_out at the spliced positions, and zero ablation zeroes
 * hook_name_out there (the scores then say how much of the MLP's contribution the transcoder
 * recovers). This needs hook_name_out downstream of (or at) hook_name, or the splice would change
 * the x it was computed from; an upstream output hook is refused.
 *
 * Vocabulary: b = batch rows, p = padded positions, V = vocabulary, d = d_in, m = d_sae,
 * o = d_out (= d for an SAE).
 */
import { ShapeMismatchError, UsageError } from '../src/errors.js';
import type { HookedTransformer } from '../src/runtime/model.js';
import type { TokenBatch } from '../src/runtime/batch.js';
import { openCapture } from '../src/store/index.js';
import { checkSae, decodeReference, encodeReference, isTranscoder, outputWidth } from './sae.js';
import type { Sae } from './sae.js';

/** Encodes n rows x [n, d] into latents f [n, m]; the CPU reference unless a faster one is given. */
export type SaeEncoder = (x: Float32Array, n: number) => Float32Array | Promise<Float32Array>;

/** The float64 CPU reference encoder of sae.ts, as an SaeEncoder. */
export function referenceEncoder(sae: Sae): SaeEncoder {
  return (x, n) => encodeReference(sae, x, n);
}

export interface LmMetricsOptions {
  /** Sequences per forward pass (default 8). */
  readonly batchSize?: number;
  /** Hook to splice at (a transcoder's input hook); default the SAE's metadata.hook_name. */
  readonly hook?: string;
  /** Transcoders: the hook replaced by ŷ; default metadata.hook_name_out. */
  readonly hookOut?: string;
  /** Input token ids whose positions are neither spliced nor counted; default the model's BOS, EOS and pad ids. */
  readonly ignoreTokenIds?: readonly number[];
  /** Positions the zero-ablation baseline zeroes: those the SAE replaces (default) or every real one (SAELens). */
  readonly zeroAblation?: 'spliced' | 'all';
  /** Encoder to use instead of the CPU reference (e.g. a GPU encode). */
  readonly encode?: SaeEncoder;
  /** Called after each batch with sequences done and total. */
  readonly progress?: (done: number, total: number) => void;
}

/** Means over counted positions (nats), the scores formed from them, and what was counted. */
export interface LmMetrics {
  /** Full hook name the SAE was spliced at (a transcoder's input hook). */
  readonly hook: string;
  /** Transcoders: the hook ŷ replaced (and zero ablation zeroed); null for an SAE. */
  readonly hookOut: string | null;
  /** Next-token cross-entropy of the unmodified model. */
  readonly ceClean: number;
  /** ... with x̂ spliced in at the hook. */
  readonly ceWithSae: number;
  /** ... with the hook's value zeroed at the same positions. */
  readonly ceZeroAblation: number;
  /** Mean KL(P_clean ‖ P_with_SAE) per position. */
  readonly klSae: number;
  /** Mean KL(P_clean ‖ P_zero_ablation) per position. */
  readonly klZeroAblation: number;
  /** (CE_zero − CE_SAE) / (CE_zero − CE_clean): 1 = the SAE loses nothing, 0 = as bad as zeroing. NaN when zeroing changes nothing. */
  readonly ceLossScore: number;
  /** (KL_zero − KL_SAE) / KL_zero; NaN when zeroing changes nothing. */
  readonly klScore: number;
  /** CE_with_SAE − CE_clean (nats per token). */
  readonly deltaLmLoss: number;
  /** Next-token predictions counted in the CE means. */
  readonly tokens: number;
  /** Positions counted in the KL means. */
  readonly klTokens: number;
  readonly sequences: number;
  /** Input token ids that were left out (see the file comment). */
  readonly ignoredTokenIds: readonly number[];
  readonly zeroAblation: 'spliced' | 'all';
}

/** Running float64 sums over counted positions. */
interface Sums {
  ceClean: number;
  ceSae: number;
  ceZero: number;
  ce: number;
  klSae: number;
  klZero: number;
  kl: number;
}

/**
 * Runs the model three times per batch (clean, SAE spliced, zero-ablated) over `sequences`
 * (token ids, BOS included as the model expects it) and returns the metrics above.
 */
export async function computeLmMetrics(model: HookedTransformer, sae: Sae, sequences: readonly (readonly number[])[], options: LmMetricsOptions = {}): Promise<LmMetrics> {
  checkSae(sae, 'computeLmMetrics');
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`computeLmMetrics: batchSize must be a positive integer, got ${batchSize}`, 'pass batchSize: 8');
  if (sequences.length === 0) throw new UsageError('computeLmMetrics: no sequences given', 'pass at least one token sequence from the eval set');
  const point = model.hook(options.hook ?? sae.cfg.metadata.hook_name);
  const width = (name: string): number | null => (model.hook(name).spec.shape[1] === 'p' ? model.concreteShape(name, 1, 1, 1).slice(2).reduce((a, n) => a * n, 1) : null);
  const trailing = width(point.name);
  if (trailing !== sae.cfg.d_in) {
    throw new ShapeMismatchError(
      `computeLmMetrics: hook ${point.name} has per-token width ${trailing ?? 'none (not a [batch, pos, ...] hook)'}, the SAE has d_in ${sae.cfg.d_in}`,
      'splice the SAE at the hook it was trained on (cfg.json metadata.hook_name)',
    );
  }
  let out = point;
  if (isTranscoder(sae.cfg)) {
    const named = options.hookOut ?? sae.cfg.metadata.hook_name_out;
    if (!named) throw new UsageError('computeLmMetrics: a transcoder without metadata.hook_name_out', 'pass hookOut, the hook whose value the transcoder replaces');
    out = model.hook(named);
    const w = width(out.name);
    if (w !== outputWidth(sae.cfg)) {
      throw new ShapeMismatchError(`computeLmMetrics: output hook ${out.name} has per-token width ${w ?? 'none (not a [batch, pos, ...] hook)'}, the transcoder has d_out ${outputWidth(sae.cfg)}`, 'splice the transcoder at the hooks it was trained on (cfg.json metadata.hook_name and hook_name_out)');
    }
    if (out.order < point.order) {
      throw new UsageError(
        `computeLmMetrics: the transcoder's output hook ${out.name} comes before its input hook ${point.name} in the forward pass, so replacing the output would change the input it was computed from`,
        'splice a transcoder whose hook_name_out is downstream of hook_name (e.g. ln2.hook_normalized → hook_mlp_out)',
      );
    }
  }
  const splice: Splice = { hook: point.name, hookOut: out.name, transcoder: isTranscoder(sae.cfg) };
  const gen = model.source.generation;
  const ignore = new Set(options.ignoreTokenIds ?? [gen.bosTokenId, ...gen.eosTokenIds, gen.padTokenId].filter((id): id is number => id !== null));
  const zeroAblation = options.zeroAblation ?? 'spliced';
  const encode = options.encode ?? referenceEncoder(sae);
  const sums: Sums = { ceClean: 0, ceSae: 0, ceZero: 0, ce: 0, klSae: 0, klZero: 0, kl: 0 };
  for (let start = 0; start < sequences.length; start += batchSize) {
    const batch = model.batch(sequences.slice(start, start + batchSize));
    await evaluateBatch(model, sae, splice, batch, ignore, zeroAblation, encode, sums);
    options.progress?.(Math.min(start + batchSize, sequences.length), sequences.length);
  }
  if (sums.ce === 0) throw new UsageError('computeLmMetrics: no next-token prediction to count (every sequence is one token long or made of ignored tokens)', 'pass sequences of at least two real tokens');
  const ceClean = sums.ceClean / sums.ce;
  const ceWithSae = sums.ceSae / sums.ce;
  const ceZeroAblation = sums.ceZero / sums.ce;
  const klSae = sums.klSae / sums.kl;
  const klZeroAblation = sums.klZero / sums.kl;
  return {
    hook: point.name,
    hookOut: splice.transcoder ? out.name : null,
    ceClean,
    ceWithSae,
    ceZeroAblation,
    klSae,
    klZeroAblation,
    ceLossScore: ratio(ceZeroAblation - ceWithSae, ceZeroAblation - ceClean),
    klScore: ratio(klZeroAblation - klSae, klZeroAblation),
    deltaLmLoss: ceWithSae - ceClean,
    tokens: sums.ce,
    klTokens: sums.kl,
    sequences: sequences.length,
    ignoredTokenIds: [...ignore].sort((a, b) => a - b),
    zeroAblation,
  };
}

/** a / b, NaN when b is 0 (the score is undefined when zero ablation costs nothing). */
function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

/** [b, p] flags: 1 where the position is a real token whose input id is not ignored. */
function splicedPositions(batch: TokenBatch, ignore: ReadonlySet<number>): Uint8Array {
  const out = new Uint8Array(batch.batch * batch.positions);
  for (let k = 0; k < out.length; k++) out[k] = batch.attention[k] && !ignore.has(Number(batch.ids[k])) ? 1 : 0;
  return out;
}

/** Where a dictionary is spliced: x is read at `hook`, x̂ replaces `hookOut` (the same hook for an SAE). */
interface Splice {
  readonly hook: string;
  readonly hookOut: string;
  readonly transcoder: boolean;
}

async function evaluateBatch(
  model: HookedTransformer,
  sae: Sae,
  splice: Splice,
  batch: TokenBatch,
  ignore: ReadonlySet<number>,
  zeroAblation: 'spliced' | 'all',
  encode: SaeEncoder,
  sums: Sums,
): Promise<void> {
  const spliced = splicedPositions(batch, ignore);
  const at = (row: number, pos: number): boolean => spliced[row * batch.positions + batch.offsets[row] + pos] === 1;
  const { hook, hookOut } = splice;
  const clean = await model.run(batch, { fetch: hookOut === hook ? [hook] : [hook, hookOut] });
  const x = clean.hooks.get(hook);
  const base = clean.hooks.get(hookOut); // the clean value at the replaced hook (x itself for an SAE)
  if (!clean.logits || !x || !base) throw new Error(`computeLmMetrics: the clean run returned no logits or no ${hook} / ${hookOut}`);
  const xhat = await reconstruct(sae, x.data, base.data, spliced, encode);
  const withSae = await model.run(batch, { interventions: [{ kind: 'replace', hook: hookOut, value: xhat, positions: at }] });
  const zeroed = await model.run(batch, { interventions: [{ kind: 'scale', hook: hookOut, factor: 0, positions: zeroAblation === 'all' ? 'all' : at }] });
  if (!withSae.logits || !zeroed.logits) throw new Error('computeLmMetrics: a modified run returned no logits');
  accumulate(batch, spliced, clean.logits.data, withSae.logits.data, zeroed.logits.data, sums);
}

/**
 * `base` [b, p, o] (the clean value at the replaced hook) with x̂ = decode(encode(x)) written at
 * spliced positions, x [b, p, d] the clean input; other positions keep `base`.
 */
async function reconstruct(sae: Sae, x: Float32Array, base: Float32Array, spliced: Uint8Array, encode: SaeEncoder): Promise<Float32Array> {
  const d = sae.cfg.d_in;
  const o = outputWidth(sae.cfg);
  const rows: number[] = [];
  for (let k = 0; k < spliced.length; k++) if (spliced[k]) rows.push(k);
  const out = Float32Array.from(base);
  if (rows.length === 0) return out;
  const xs = new Float32Array(rows.length * d);
  rows.forEach((k, i) => xs.set(x.subarray(k * d, (k + 1) * d), i * d));
  const f = await encode(xs, rows.length);
  if (f.length !== rows.length * sae.cfg.d_sae) throw new ShapeMismatchError(`computeLmMetrics: the encoder returned ${f.length} values for ${rows.length} rows`, `return [n, d_sae] = ${rows.length} × ${sae.cfg.d_sae} latents`);
  const xhat = decodeReference(sae, f, rows.length, xs);
  rows.forEach((k, i) => out.set(xhat.subarray(i * o, (i + 1) * o), k * o));
  return out;
}

/** log Σ exp over one row of logits, in float64. */
function logSumExp(logits: Float32Array, base: number, V: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[base + v] > max) max = logits[base + v];
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[base + v] - max);
  return max + Math.log(s);
}

/** KL(P ‖ Q) of one position from logits: Σ p (log p − log q), with log-softmax in float64. */
function klAt(p: Float32Array, lseP: number, q: Float32Array, base: number, V: number): number {
  const lseQ = logSumExp(q, base, V);
  let kl = 0;
  for (let v = 0; v < V; v++) {
    const lp = p[base + v] - lseP;
    kl += Math.exp(lp) * (lp - (q[base + v] - lseQ));
  }
  // Rounding can leave a tiny negative value where the distributions are equal.
  return Math.max(kl, 0);
}

/** Adds one batch's counted CE and KL terms (see the file comment for which positions count). */
function accumulate(batch: TokenBatch, spliced: Uint8Array, clean: Float32Array, sae: Float32Array, zero: Float32Array, sums: Sums): void {
  const { positions: p } = batch;
  const V = clean.length / (batch.batch * p);
  for (let r = 0; r < batch.batch; r++) {
    const first = r * p + batch.offsets[r];
    const length = batch.lengths[r];
    for (let t = 0; t < length; t++) {
      const k = first + t;
      if (!spliced[k]) continue;
      const base = k * V;
      const lseClean = logSumExp(clean, base, V);
      sums.klSae += klAt(clean, lseClean, sae, base, V);
      sums.klZero += klAt(clean, lseClean, zero, base, V);
      sums.kl++;
      if (t === length - 1) continue; // no next token to predict
      const target = Number(batch.ids[k + 1]);
      sums.ceClean += lseClean - clean[base + target];
      sums.ceSae += logSumExp(sae, base, V) - sae[base + target];
      sums.ceZero += logSumExp(zero, base, V) - zero[base + target];
      sums.ce++;
    }
  }
}

export interface CaptureSequencesOptions {
  /** Stop after this many sequences (default all). */
  readonly maxSequences?: number;
}

/**
 * The token-id sequences of a capture taken with `--positions all` (one row per token, rows of
 * a sequence consecutive), e.g. the held-out eval capture, for computeLmMetrics.
 */
export function sequencesFromCapture(captureDir: string, options: CaptureSequencesOptions = {}): number[][] {
  const capture = openCapture(captureDir);
  try {
    if (capture.manifest.positions !== 'all') {
      throw new UsageError(`${captureDir}: captured with --positions ${capture.manifest.positions}, so whole sequences cannot be rebuilt`, 'use a capture made with --positions all, or pass token sequences directly');
    }
    const max = options.maxSequences ?? Infinity;
    const out: number[][] = [];
    let current = -1;
    for (const rows of capture.batches({ hooks: [], batchRows: 1 << 14, columns: [] })) {
      for (let i = 0; i < rows.rows; i++) {
        if (rows.seq[i] !== current) {
          if (out.length >= max) return out;
          current = rows.seq[i];
          out.push([]);
        }
        out[out.length - 1].push(rows.tokenId[i]);
      }
    }
    return out;
  } finally {
    capture.close();
  }
}
