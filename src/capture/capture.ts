/**
 * `interp capture` as a library call: run a model over a dataset and stream the requested hooks
 * into an activation store, resumably. Batches are fixed slices of the sequence list
 * (batch k = sequences [k·B, (k+1)·B)), and a resumed run recomputes the whole batch it stopped
 * in, keeping only the sequences not yet written: the same sequences then meet the same padding,
 * so a resumed store's rows are bit-identical to an uninterrupted one.
 */
import * as path from 'node:path';
import type { Dataset } from '../dataset/load.js';
import { UsageError } from '../errors.js';
import type { HookedTransformer } from '../runtime/model.js';
import { CaptureWriter } from '../store/index.js';
import type { CaptureDtype, CaptureHeader, CaptureManifest } from '../store/manifest.js';
import { versions } from '../versions.js';
import { planSequences, positionModeName } from './sequences.js';
import type { CaptureSequence, PositionMode } from './sequences.js';

export interface CaptureOptions {
  readonly model: HookedTransformer;
  /** Model as the user named it (a directory or hub id), for the manifest. */
  readonly modelId: string;
  readonly dataset: Dataset;
  /** Hook names, full or short. */
  readonly hooks: readonly string[];
  readonly out: string;
  readonly positions: PositionMode;
  readonly batchSize: number;
  readonly context: number | null;
  readonly maxTokens: number | null;
  readonly dtype: CaptureDtype;
  readonly shardRows?: number;
  readonly seed: number;
  readonly command: readonly string[];
  /** Called with tokens processed so far and the total. */
  readonly progress?: (done: number, total: number) => void;
}

export interface CaptureSummary {
  readonly out: string;
  readonly manifest: Readonly<CaptureManifest>;
  /** True when an earlier, interrupted run was continued. */
  readonly resumed: boolean;
  /** Sequences computed in this run. */
  readonly sequencesRun: number;
  readonly seconds: number;
}

export async function runCapture(o: CaptureOptions): Promise<CaptureSummary> {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new UsageError(`--batch-size must be a positive integer, got ${o.batchSize}`, 'pass --batch-size 8');
  const started = Date.now();
  const hooks = [...new Set(o.hooks.map((h) => o.model.hook(h)))].sort((a, b) => a.order - b.order);
  const notVector = hooks.filter((h) => h.spec.shape.length !== 3 || h.spec.shape[1] !== 'p');
  if (notVector.length) {
    throw new UsageError(`cannot capture ${notVector.map((h) => h.name).join(', ')}: a capture stores one vector per token`, 'capture [batch, pos, d] hooks such as resid_post, attn_out, mlp_out or mlp.hook_post');
  }
  // Token ids are not held for the whole dataset: each batch is tokenized when it runs (sequences.ts).
  const sequences = planSequences(o.model, o.dataset, { positions: o.positions, context: o.context, maxTokens: o.maxTokens });
  const dims = hooks.map((h) => ({ name: h.name, d: o.model.concreteShape(h.name, 1, 1, 1)[2] }));
  const header: CaptureHeader = {
    model: { id: o.modelId, dir: o.model.source.dir, hash: o.model.source.hash, revision: o.model.source.revision, family: o.model.family.name, weights: 'raw' },
    dataset: { path: o.dataset.source, sha256: o.dataset.sha256, sequences: sequences.length },
    hooks: dims,
    dtype: o.dtype,
    policy: { ...o.model.policy },
    positions: positionModeName(o.positions),
    context: o.context ?? o.model.config.nCtx,
    seed: o.seed,
    command: [...o.command],
    versions: versions(),
    label_columns: o.dataset.labelColumns.map((c) => ({ name: storeLabelName(c.name), type: c.type })),
  };
  const writer = CaptureWriter.open(o.out, header, o.shardRows !== undefined ? { shardRows: o.shardRows } : {});
  const { resume } = writer;
  const totalTokens = sequences.tokens;
  let doneTokens = sequences.tokensIn(0, resume.sequencesDone);
  let sequencesRun = 0;
  if (!resume.complete) {
    const firstBatch = Math.floor(resume.sequencesDone / o.batchSize) * o.batchSize;
    const starts: number[] = [];
    for (let start = firstBatch; start < sequences.length; start += o.batchSize) starts.push(start);
    const forward = (start: number) => {
      const batch = sequences.slice(start, start + o.batchSize);
      return { batch, result: o.model.run(batch.map((s) => s.ids), { fetch: dims.map((h) => h.name), logits: false }) };
    };
    // The next batch's forward pass runs on onnxruntime's threads while this thread converts and
    // writes the current one, so the store's work hides behind the model's.
    let pending = starts.length ? forward(starts[0]) : null;
    try {
      for (let i = 0; i < starts.length; i++) {
        const { batch, result: running } = pending as ReturnType<typeof forward>;
        const result = await running;
        pending = i + 1 < starts.length ? forward(starts[i + 1]) : null;
        const start = starts[i];
        const skip = Math.max(0, resume.sequencesDone - start);
        writer.append(rowsOf(o.model, batch, start, skip, dims, o.dataset.labelColumns.map((c) => c.name), result.hooks));
        sequencesRun += batch.length - skip;
        doneTokens += batch.slice(skip).reduce((a, s) => a + s.ids.length, 0);
        o.progress?.(doneTokens, totalTokens);
      }
    } catch (err) {
      // A failed write (full disk, NaN activation) leaves the next batch's forward pass running:
      // let it end before the caller disposes the model, which would otherwise crash the process
      // with onnxruntime's "Session already disposed" instead of this error's message.
      await pending?.result.catch(() => undefined);
      throw err;
    }
  }
  const manifest = resume.complete ? writer.manifest : writer.finish({ sequencesDone: sequences.length });
  return { out: path.resolve(o.out), manifest, resumed: resume.resumed, sequencesRun, seconds: (Date.now() - started) / 1000 };
}

/** Columns every capture has; a dataset label of the same name is stored as `<name>_label`. */
const RESERVED_COLUMNS = new Set(['seq', 'pos', 'token_id', 'token']);

export function storeLabelName(name: string): string {
  return RESERVED_COLUMNS.has(name) ? `${name}_label` : name;
}

/** The store rows of sequences batch[skip…], unpadded (left padding: row r starts at P − len). */
function rowsOf(
  model: HookedTransformer,
  batch: readonly CaptureSequence[],
  firstSeq: number,
  skip: number,
  hooks: readonly { name: string; d: number }[],
  labelNames: readonly string[],
  values: ReadonlyMap<string, { data: Float32Array; shape: readonly number[] }>,
) {
  const P = Math.max(...batch.map((s) => s.ids.length));
  const kept = batch.slice(skip).map((s) => (s.keep === 'mean' ? 1 : s.keep.length));
  const n = kept.reduce((a, k) => a + k, 0);
  const seq = new Int32Array(n);
  const pos = new Int32Array(n);
  const tokenId = new Int32Array(n);
  const token: string[] = [];
  const labels = Object.fromEntries(labelNames.map((name) => [storeLabelName(name), new Array<string | number | boolean | null>(n).fill(null)]));
  const acts = Object.fromEntries(hooks.map((h) => [h.name, new Float32Array(n * h.d)]));
  const tokenizer = model.source.tokenizer;
  let row = 0;
  for (let r = skip; r < batch.length; r++) {
    const s = batch[r];
    const offset = P - s.ids.length; // left padding
    const keep = s.keep === 'mean' ? null : s.keep;
    const count = keep ? keep.length : 1;
    for (let k = 0; k < count; k++) {
      seq[row + k] = firstSeq + r;
      pos[row + k] = keep ? keep[k] : -1;
      tokenId[row + k] = keep ? s.ids[keep[k]] : -1;
      // The token as people read it (" the", not the vocabulary's "Ġthe" or "▁the"): token_id keeps the identity.
      token.push(keep ? tokenizer?.tokenDisplay(s.ids[keep[k]]) ?? String(s.ids[keep[k]]) : '<mean>');
      for (const name of labelNames) labels[storeLabelName(name)][row + k] = s.labels[name] ?? null;
    }
    for (const h of hooks) {
      const src = values.get(h.name)?.data;
      if (!src) throw new Error(`capture: hook ${h.name} missing from the run`);
      const dst = acts[h.name];
      if (keep) {
        keep.forEach((t, k) => dst.set(src.subarray((r * P + offset + t) * h.d, (r * P + offset + t + 1) * h.d), (row + k) * h.d));
      } else {
        for (let t = 0; t < s.ids.length; t++) {
          const base = (r * P + offset + t) * h.d;
          for (let j = 0; j < h.d; j++) dst[row * h.d + j] += src[base + j] / s.ids.length;
        }
      }
    }
    row += count;
  }
  return { seq, pos, tokenId, token, labels, hooks: acts };
}
