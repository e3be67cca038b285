/**
 * One streaming pass over a capture that encodes every row with the SAE and keeps, per latent,
 * what a dashboard shows: how often it fires (density), its largest and summed activation, an
 * exact activation histogram, its top-activating tokens and a uniform sample of its activations
 * (for quantile examples), each example with the latent's values on ±radius tokens around it.
 *
 * Memory stays bounded: rows of one sequence are consecutive in a `--positions all` capture, so
 * the pass holds one sequence's latents at a time (sparse: only nonzero entries), and per latent
 * at most topK + reservoir examples. Observers (attributes.ts) see every completed sequence.
 *
 * Rows whose token id is ignored (BOS, EOS, pad by default, as the LM metrics) are encoded for
 * nothing and counted nowhere; in example windows their values are NaN (drawn grey).
 *
 * Shapes: n = rows, d = d_in, m = d_sae, r = radius.
 */
import * as fs from 'node:fs';
import { UsageError } from '../src/errors.js';
import { readGenerationDefaults, readModelConfig } from '../src/model/index.js';
import { openCapture, type Capture } from '../src/store/index.js';
import { blockedEncoder } from './dashboard-encode.js';
import type { SaeEncoder } from './metrics-lm.js';
import { checkSae, type Sae } from './sae.js';
import { mulberry32 } from '../src/util/random.js';

/** One token's active latents: indices ascending, with their values. */
export interface SparseRow {
  readonly idx: Int32Array;
  readonly val: Float32Array;
}

/** A completed sequence as observers see it. */
export interface SequenceLatents {
  readonly seq: number;
  /** Token text per row, as the capture stores it. */
  readonly tokens: readonly string[];
  readonly tokenIds: Int32Array;
  readonly pos: Int32Array;
  /** 1 where the row counts (its token is not ignored). */
  readonly counted: Uint8Array;
  /** Active latents per row (empty for rows that do not count). */
  readonly rows: readonly SparseRow[];
}

export interface ScanObserver {
  sequence(s: SequenceLatents): void;
}

/** A token where a latent fired, with the latent's values around it. */
export interface LatentExample {
  readonly seq: number;
  /** Position of the token in its sequence. */
  readonly pos: number;
  readonly value: number;
  /** Window tokens and the latent's value on each (NaN on ignored tokens). */
  readonly tokens: readonly string[];
  readonly values: Float32Array;
  /** Index of the token inside the window. */
  readonly center: number;
}

export interface ScanOptions {
  /** Capture column to encode; default the SAE's metadata.hook_name. */
  readonly hook?: string;
  /** Rows read per batch (default 2048). */
  readonly batchRows?: number;
  /** Stop at the first sequence boundary after this many rows (default: every row). */
  readonly maxRows?: number;
  /** Scan only the sequences this accepts (e.g. the trainer's held-out split); default all. */
  readonly includeSequence?: (seq: number) => boolean;
  /** Token ids left out; default the capture model's BOS, EOS and pad ids (read from its directory when it exists). */
  readonly ignoreTokenIds?: readonly number[];
  /** Top-activating examples kept per latent (default 20). */
  readonly topK?: number;
  /** Uniformly sampled activations kept per latent for quantile examples (default 40). */
  readonly reservoir?: number;
  /** Tokens either side of an example (default 5). */
  readonly radius?: number;
  /** Bins of each latent's activation histogram (default 40). */
  readonly histogramBins?: number;
  /** Encoder; default blockedEncoder (CPU). */
  readonly encode?: SaeEncoder;
  /** Seed of the reservoir sampling (default 0). */
  readonly seed?: number;
  readonly observers?: readonly ScanObserver[];
  readonly progress?: (rows: number, total: number) => void;
}

export interface LatentScan {
  readonly hook: string;
  readonly dSae: number;
  /** Rows that counted (not ignored) among those read. */
  readonly tokens: number;
  /** Rows read, and rows in the capture. */
  readonly rowsRead: number;
  readonly rowsTotal: number;
  readonly sequences: number;
  /** Whether rows of a sequence are consecutive (positions = all) so examples have context. */
  readonly contexts: boolean;
  readonly ignoredTokenIds: readonly number[];
  /** Tokens where each latent fired, [m]. */
  readonly fires: Float64Array;
  /** Σ activation over tokens, [m]. */
  readonly sum: Float64Array;
  /** Largest activation, [m] (0 when it never fired). */
  readonly max: Float32Array;
  /** Per latent histogram of its nonzero activations: counts [m, bins] over [0, top[l]). */
  readonly histBins: number;
  readonly histCounts: Float64Array;
  readonly histTop: Float64Array;
  /** Top-activating examples per latent, largest first. */
  readonly top: readonly LatentExample[][];
  /** Uniform samples of each latent's activations, ascending by value. */
  readonly samples: readonly LatentExample[][];
}

/** BOS, EOS and pad ids of the capture's model, or none when its directory is gone. */
export function specialTokenIds(capture: Capture): number[] {
  const dir = capture.manifest.model.dir;
  if (!fs.existsSync(dir)) return [];
  try {
    const gen = readGenerationDefaults(dir, readModelConfig(dir).config);
    return [...new Set([gen.bosTokenId, ...gen.eosTokenIds, gen.padTokenId].filter((v): v is number => v !== null))];
  } catch {
    return [];
  }
}

/** Deterministic uniform [0, 1). */
const random = mulberry32;

/** Scans a capture directory (see the file comment). */
export async function scanCapture(sae: Sae, captureDir: string, options: ScanOptions = {}): Promise<LatentScan> {
  checkSae(sae, 'scanCapture');
  const capture = openCapture(captureDir);
  try {
    const hook = options.hook ?? sae.cfg.metadata.hook_name;
    const spec = capture.hooks[capture.hookIndex(hook)];
    if (spec.d !== sae.cfg.d_in) throw new UsageError(`${captureDir}: hook ${hook} has width ${spec.d}, the SAE has d_in ${sae.cfg.d_in}`, 'pass the capture of the hook this SAE was trained on');
    const acc = new ScanAccumulator(sae, hook, capture, options);
    const encode = options.encode ?? blockedEncoder(sae);
    const maxRows = options.maxRows ?? Infinity;
    const include = options.includeSequence ?? (() => true);
    const progress = options.progress;
    for (const batch of capture.batches({ hooks: [hook], batchRows: options.batchRows ?? 2048, columns: ['token'] })) {
      const included = Uint8Array.from(batch.seq, (seq) => (include(seq) ? 1 : 0));
      const counted = Uint8Array.from(batch.tokenId, (id, i) => (included[i] && !acc.ignore.has(id) ? 1 : 0));
      const keep: number[] = [];
      counted.forEach((c, i) => c && keep.push(i));
      const x = new Float32Array(keep.length * spec.d);
      const xs = batch.hooks[hook];
      keep.forEach((row, i) => x.set(xs.subarray(row * spec.d, (row + 1) * spec.d), i * spec.d));
      const f = keep.length > 0 ? await encode(x, keep.length) : new Float32Array(0);
      const sparse = new Array<SparseRow>(batch.rows).fill(EMPTY_ROW);
      keep.forEach((row, i) => { sparse[row] = toSparse(f, i, sae.cfg.d_sae); });
      const stop = acc.addRows(batch.seq, batch.pos, batch.tokenId, batch.token, included, counted, sparse, maxRows);
      progress?.(acc.rowsRead, capture.rows);
      if (stop) break;
    }
    acc.flush();
    return acc.result(capture.rows);
  } finally {
    capture.close();
  }
}

const EMPTY_ROW: SparseRow = { idx: new Int32Array(0), val: new Float32Array(0) };

/** Row i of a dense [n, m] matrix as a sparse row. */
function toSparse(f: Float32Array, i: number, m: number): SparseRow {
  const row = f.subarray(i * m, (i + 1) * m);
  let nnz = 0;
  for (let l = 0; l < m; l++) if (row[l] !== 0) nnz++;
  const idx = new Int32Array(nnz);
  const val = new Float32Array(nnz);
  for (let l = 0, k = 0; l < m; l++) if (row[l] !== 0) [idx[k], val[k++]] = [l, row[l]];
  return { idx, val };
}

/** The value of latent l in a sparse row (0 when inactive); indices are ascending. */
function valueOf(row: SparseRow, l: number): number {
  let lo = 0;
  let hi = row.idx.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (row.idx[mid] === l) return row.val[mid];
    if (row.idx[mid] < l) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** The running state of a scan: the current sequence's rows and every latent's statistics. */
class ScanAccumulator {
  readonly ignore: ReadonlySet<number>;
  rowsRead = 0;
  private tokens = 0;
  private sequences = 0;
  private readonly m: number;
  private readonly contexts: boolean;
  private readonly topK: number;
  private readonly reservoirSize: number;
  private readonly radius: number;
  private readonly bins: number;
  private readonly rand: () => number;
  private readonly observers: readonly ScanObserver[];
  private readonly fires: Float64Array;
  private readonly sum: Float64Array;
  private readonly max: Float32Array;
  private readonly histCounts: Float64Array;
  private readonly histTop: Float64Array;
  private readonly top: LatentExample[][];
  private readonly topMin: Float32Array;
  private readonly samples: LatentExample[][];
  private current: { seq: number; tokens: string[]; ids: number[]; pos: number[]; counted: number[]; rows: SparseRow[] } | null = null;

  constructor(sae: Sae, readonly hook: string, capture: Capture, o: ScanOptions) {
    this.m = sae.cfg.d_sae;
    this.ignore = new Set(o.ignoreTokenIds ?? specialTokenIds(capture));
    this.contexts = capture.manifest.positions === 'all';
    this.topK = o.topK ?? 20;
    this.reservoirSize = o.reservoir ?? 40;
    this.radius = o.radius ?? 5;
    this.bins = o.histogramBins ?? 40;
    this.rand = random(o.seed ?? 0);
    this.observers = o.observers ?? [];
    this.fires = new Float64Array(this.m);
    this.sum = new Float64Array(this.m);
    this.max = new Float32Array(this.m);
    this.histCounts = new Float64Array(this.m * this.bins);
    this.histTop = new Float64Array(this.m);
    this.top = Array.from({ length: this.m }, () => []);
    this.topMin = new Float32Array(this.m);
    this.samples = Array.from({ length: this.m }, () => []);
  }

  /** Adds the included rows of a batch; true when maxRows is reached at a sequence boundary. */
  addRows(seq: Int32Array, pos: Int32Array, ids: Int32Array, tokens: readonly string[], included: Uint8Array, counted: Uint8Array, rows: readonly SparseRow[], maxRows: number): boolean {
    for (let i = 0; i < seq.length; i++) {
      if (!included[i]) continue;
      const boundary = this.current === null || !this.contexts || this.current.seq !== seq[i];
      if (boundary) {
        this.flush();
        if (this.rowsRead >= maxRows) return true;
        this.current = { seq: seq[i], tokens: [], ids: [], pos: [], counted: [], rows: [] };
      }
      const c = this.current as NonNullable<typeof this.current>;
      c.tokens.push(tokens[i] ?? '');
      c.ids.push(ids[i]);
      c.pos.push(pos[i]);
      c.counted.push(counted[i]);
      c.rows.push(rows[i]);
      this.rowsRead++;
    }
    return false;
  }

  /** Processes the buffered sequence: statistics, examples, observers. */
  flush(): void {
    const c = this.current;
    if (c === null) return;
    this.current = null;
    this.sequences++;
    const s: SequenceLatents = { seq: c.seq, tokens: c.tokens, tokenIds: Int32Array.from(c.ids), pos: Int32Array.from(c.pos), counted: Uint8Array.from(c.counted), rows: c.rows };
    for (let t = 0; t < c.rows.length; t++) {
      if (!s.counted[t]) continue;
      this.tokens++;
      const row = c.rows[t];
      for (let k = 0; k < row.idx.length; k++) this.addActivation(s, t, row.idx[k], row.val[k]);
    }
    for (const o of this.observers) o.sequence(s);
  }

  private addActivation(s: SequenceLatents, t: number, l: number, v: number): void {
    const n = ++this.fires[l];
    this.sum[l] += v;
    if (v > this.max[l]) this.max[l] = v;
    this.addToHistogram(l, v);
    const top = this.top[l];
    if (this.topK > 0 && (top.length < this.topK || v > this.topMin[l])) {
      if (top.length >= this.topK) top.splice(top.findIndex((e) => e.value === this.topMin[l]), 1);
      top.push(this.example(s, t, l, v));
      this.topMin[l] = top.reduce((a, e) => Math.min(a, e.value), Infinity);
    }
    // Reservoir sampling (Vitter's algorithm R): each activation is kept with probability R/n.
    const sample = this.samples[l];
    if (sample.length < this.reservoirSize) sample.push(this.example(s, t, l, v));
    else {
      const j = Math.floor(this.rand() * n);
      if (j < this.reservoirSize) sample[j] = this.example(s, t, l, v);
    }
  }

  /**
   * Exact histogram over [0, top): when a value reaches top, adjacent bins are merged pairwise
   * and top doubles, so counts stay exact without knowing the range in advance.
   */
  private addToHistogram(l: number, v: number): void {
    const B = this.bins;
    const counts = this.histCounts.subarray(l * B, (l + 1) * B);
    if (this.histTop[l] === 0) this.histTop[l] = 2 ** (Math.floor(Math.log2(v)) + 1);
    while (v >= this.histTop[l]) {
      for (let b = 0; b < B; b++) counts[b] = b < B / 2 ? counts[2 * b] + (2 * b + 1 < B ? counts[2 * b + 1] : 0) : 0;
      this.histTop[l] *= 2;
    }
    counts[Math.min(B - 1, Math.floor((v / this.histTop[l]) * B))]++;
  }

  private example(s: SequenceLatents, t: number, l: number, v: number): LatentExample {
    const start = Math.max(0, t - this.radius);
    const end = Math.min(s.rows.length, t + this.radius + 1);
    const values = new Float32Array(end - start);
    for (let u = start; u < end; u++) values[u - start] = s.counted[u] ? valueOf(s.rows[u], l) : Number.NaN;
    return { seq: s.seq, pos: s.pos[t], value: v, tokens: s.tokens.slice(start, end), values, center: t - start };
  }

  result(rowsTotal: number): LatentScan {
    this.top.forEach((list) => list.sort((a, b) => b.value - a.value));
    this.samples.forEach((list) => list.sort((a, b) => a.value - b.value));
    return {
      hook: this.hook, dSae: this.m, tokens: this.tokens, rowsRead: this.rowsRead, rowsTotal, sequences: this.sequences, contexts: this.contexts,
      ignoredTokenIds: [...this.ignore].sort((a, b) => a - b), fires: this.fires, sum: this.sum, max: this.max,
      histBins: this.bins, histCounts: this.histCounts, histTop: this.histTop, top: this.top, samples: this.samples,
    };
  }
}
