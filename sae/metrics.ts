/**
 * Model-independent SAE metrics over held-out capture rows, computed exactly and streaming
 * (float64 sums over every evaluated token; FORMATS.md "Metric formulas"):
 *
 *   L0 = E_t Σ_i 1[f_ti > 0]          MSE = E_t ‖x_t − x̂_t‖²   (summed over d, averaged over tokens)
 *   explained variance = 1 − E_t‖x − x̂‖² / (E_t‖x‖² − ‖E_t x‖²)   (mean-centred; SAELens #659)
 *   cosine = E_t cos(x_t, x̂_t)      norm ratio = E_t ‖x̂_t‖ / ‖x_t‖  (< 1: shrinkage)
 *   density p_i = fraction of tokens where latent i fires; dead: p_i = 0 over the whole eval
 *   set (the window N is the eval set); dense: p_i > denseThreshold (default 0.1)
 *   histogram of log10(p_i + 1e-10), the quantity SAELens stores as sparsity.safetensors.
 * Transcoders: the same formulas with y, the value at the output hook (metadata.hook_name_out,
 * read from the same capture rows), in place of x: MSE and explained variance of ŷ = decode(encode(x))
 * against y, cosine and norm ratio of ŷ to y; L0 and densities as for an SAE.
 * The CE / KL scores need the model and live in metrics-lm.ts.
 */
import { getGpu, scope, sync, upload, zeros, type Tensor } from '../src/engine/index.js';
import { FileFormatError, UsageError } from '../src/errors.js';
import type { Capture } from '../src/store/index.js';
import type { Progress } from '../src/util/progress.js';
import { decode, disposeGpuSae, encode, uploadSae } from './gpu-sae.js';
import { countDense, countSparse } from './kernels/latents.js';
import { isTranscoder, outputWidth, type Sae } from './sae.js';
import { describeRow } from './split.js';

export interface EvaluateOptions {
  /** Hook to read; default the SAE's metadata.hook_name. */
  readonly hook?: string;
  /** Transcoders: the hook whose value ŷ is compared with; default metadata.hook_name_out. */
  readonly hookOut?: string;
  /** Which sequences to evaluate (e.g. heldOutSequences(0.05)); default all. */
  readonly sequences?: (seq: number) => boolean;
  /** Stop after this many evaluated tokens (default all selected). */
  readonly maxTokens?: number;
  /** Rows per GPU batch (default 4096). */
  readonly batchRows?: number;
  /** Density above which a latent counts as dense (default 0.1). */
  readonly denseThreshold?: number;
  /** Histogram bins over log10 density in [-10, 0] (default 40). */
  readonly bins?: number;
  readonly progress?: Progress;
  /** Tokens the selection holds, for progress only (default the capture's rows). */
  readonly expectedTokens?: number;
}

export interface DensityHistogram {
  /** bins + 1 edges over log10(p + 1e-10), from −10 to 0. */
  readonly edges: readonly number[];
  readonly counts: readonly number[];
}

export interface SaeMetrics {
  /** Tokens evaluated. */
  readonly tokens: number;
  /** The input hook read. */
  readonly hook: string;
  /** Transcoders: the output hook the MSE and explained variance are of; null for an SAE. */
  readonly hookOut: string | null;
  readonly l0: number;
  readonly mse: number;
  readonly explainedVariance: number;
  /** 1 − explained variance. */
  readonly fvu: number;
  readonly cosine: number;
  readonly normRatio: number;
  readonly deadFraction: number;
  readonly denseFraction: number;
  /** [d_sae] fraction of tokens on which each latent fired. */
  readonly density: Float64Array;
  /** [d_sae] log10(density + 1e-10) (SAELens' sparsity.safetensors). */
  readonly log10Density: Float32Array;
  readonly histogram: DensityHistogram;
}

/** Float64 running sums behind SaeMetrics. */
class Sums {
  tokens = 0;
  sqErr = 0;
  sqNorm = 0;
  cosine = 0;
  normRatio = 0;
  readonly sumX: Float64Array;
  readonly counts: Float64Array;

  constructor(d: number, m: number) {
    this.sumX = new Float64Array(d);
    this.counts = new Float64Array(m);
  }

  add(x: Float32Array, xhat: Float32Array, rows: number, d: number): void {
    for (let r = 0; r < rows; r++) {
      let err = 0, xx = 0, hh = 0, xh = 0;
      for (let j = 0; j < d; j++) {
        const a = x[r * d + j];
        const b = xhat[r * d + j];
        err += (a - b) ** 2;
        xx += a * a;
        hh += b * b;
        xh += a * b;
        this.sumX[j] += a;
      }
      this.sqErr += err;
      this.sqNorm += xx;
      this.cosine += xx > 0 && hh > 0 ? xh / Math.sqrt(xx * hh) : 0;
      this.normRatio += xx > 0 ? Math.sqrt(hh / xx) : 0;
    }
    this.tokens += rows;
  }
}

/** A hook to read and its width. */
interface Column {
  readonly hook: string;
  readonly d: number;
}

/**
 * Rows of the `columns` hooks (x, and a transcoder's y) from the selected sequences, `batchRows`
 * at a time, checked for NaN/∞; out[c] is [rows, columns[c].d].
 */
function* selectedRows(capture: Capture, columns: readonly Column[], o: EvaluateOptions): Generator<{ data: Float32Array[]; rows: number }> {
  const batchRows = o.batchRows ?? 4096;
  const limit = o.maxTokens ?? Infinity;
  const fresh = () => columns.map((c) => new Float32Array(batchRows * c.d));
  let buffers = fresh();
  let filled = 0;
  let taken = 0;
  for (const b of capture.batches({ hooks: columns.map((c) => c.hook), batchRows, columns: [] })) {
    for (let i = 0; i < b.rows && taken < limit; i++) {
      if (o.sequences && !o.sequences(b.seq[i])) continue;
      columns.forEach(({ hook, d }, c) => {
        const row = b.hooks[hook].subarray(i * d, (i + 1) * d);
        for (let j = 0; j < d; j++) {
          if (!Number.isFinite(row[j])) throw new FileFormatError(`${describeRow(capture, b.start + i)} of hook ${hook} holds ${row[j]} at dimension ${j}`, 'the activations overflowed (capture in f32, or check the model); evaluation stopped');
        }
        buffers[c].set(row, filled * d);
      });
      filled++;
      taken++;
      if (filled === batchRows) {
        yield { data: buffers, rows: filled };
        buffers = fresh();
        filled = 0;
      }
    }
    if (taken >= limit) break;
  }
  if (filled > 0) yield { data: buffers.map((buf, c) => buf.subarray(0, filled * columns[c].d)), rows: filled };
}

/** Evaluates `sae` on the selected rows of `capture` (see the file comment for definitions). */
export async function evaluateSae(sae: Sae, capture: Capture, options: EvaluateOptions = {}): Promise<SaeMetrics> {
  const hook = capture.hook(options.hook ?? sae.cfg.metadata.hook_name);
  const { d_in: d, d_sae: m } = sae.cfg;
  const o = outputWidth(sae.cfg);
  const spec = capture.hooks[capture.hookIndex(hook)];
  if (spec.d !== d) throw new FileFormatError(`${capture.dir}: hook ${hook} has width ${spec.d}, the SAE's d_in is ${d}`, 'evaluate on the hook the SAE was trained on');
  let hookOut: string | null = null;
  if (isTranscoder(sae.cfg)) {
    const named = options.hookOut ?? sae.cfg.metadata.hook_name_out;
    if (!named) throw new UsageError('evaluateSae: a transcoder without metadata.hook_name_out', 'pass hookOut, the hook whose value the transcoder predicts');
    hookOut = capture.hook(named);
    const outSpec = capture.hooks[capture.hookIndex(hookOut)];
    if (outSpec.d !== o) throw new FileFormatError(`${capture.dir}: hook ${hookOut} has width ${outSpec.d}, the transcoder's d_out is ${o}`, 'evaluate on the output hook the transcoder was trained on');
  }
  const columns: Column[] = [{ hook, d }, ...(hookOut ? [{ hook: hookOut, d: o }] : [])];
  const gpu = await getGpu();
  const g = uploadSae(gpu, sae);
  const counts = zeros(gpu, [m], 'u32');
  const sums = new Sums(o, m);
  const total = Math.min(options.maxTokens ?? Infinity, options.expectedTokens ?? capture.rows);
  try {
    for (const batch of selectedRows(capture, columns, options)) {
      const [xs, ys] = [batch.data[0], batch.data[1] ?? batch.data[0]]; // target: y for a transcoder, x for an SAE
      const xhat = scope(() => {
        const x = upload(gpu, xs, [batch.rows, d]);
        const f = encode(g, x);
        if (f.kind === 'dense') countDense(counts, f.f);
        else countSparse(counts, f.values, f.indices);
        return decode(g, f);
      });
      const host = (await xhat.download()) as Float32Array;
      xhat.dispose();
      sums.add(ys, host, batch.rows, o);
      options.progress?.(sums.tokens, total);
    }
    await sync(gpu);
    const c = (await (counts as Tensor).download()) as Uint32Array;
    for (let i = 0; i < m; i++) sums.counts[i] = c[i];
  } finally {
    counts.dispose();
    disposeGpuSae(g);
  }
  return finish(sums, options, hook, hookOut);
}

function finish(s: Sums, o: EvaluateOptions, hook: string, hookOut: string | null): SaeMetrics {
  const n = Math.max(s.tokens, 1);
  const m = s.counts.length;
  let meanSq = 0;
  for (const v of s.sumX) meanSq += (v / n) ** 2;
  const variance = s.sqNorm / n - meanSq;
  const mse = s.sqErr / n;
  const density = s.counts.map((c) => c / n);
  const dense = o.denseThreshold ?? 0.1;
  const l0 = s.counts.reduce((a, c) => a + c, 0) / n;
  const explainedVariance = 1 - mse / variance;
  return {
    tokens: s.tokens,
    hook,
    hookOut,
    l0,
    mse,
    explainedVariance,
    fvu: 1 - explainedVariance,
    cosine: s.cosine / n,
    normRatio: s.normRatio / n,
    deadFraction: density.filter((p) => p === 0).length / m,
    denseFraction: density.filter((p) => p > dense).length / m,
    density,
    log10Density: Float32Array.from(density, (p) => Math.log10(p + 1e-10)),
    histogram: histogram(density, o.bins ?? 40),
  };
}

/** Histogram of log10(p + 1e-10) over [−10, 0] in `bins` equal bins (dead latents land in the first). */
export function histogram(density: ArrayLike<number>, bins: number): DensityHistogram {
  const edges = Array.from({ length: bins + 1 }, (_, i) => -10 + (10 * i) / bins);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < density.length; i++) {
    const v = Math.log10(density[i] + 1e-10);
    counts[Math.min(bins - 1, Math.max(0, Math.floor(((v + 10) / 10) * bins)))]++;
  }
  return { edges, counts };
}
