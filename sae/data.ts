/**
 * Training batches for an SAE: fixed-size batches of B scaled rows x' = s·x drawn through the
 * capture's uniform shuffle (Capture.shuffledBatches: bounded memory, deterministic per seed),
 * skipping held-out sequences, one epoch after another (epoch e uses shuffle seed seed + e).
 * A batch never straddles epochs: the rows left at the end of an epoch are dropped, so a
 * position (epoch, rows of the permutation consumed) fixes every later batch exactly — that is
 * what a checkpoint records and `--resume` restarts from.
 *
 * Every row is checked: a NaN or ±∞ stops training with the shard file and row.
 *
 * Transcoders read two hooks of the same capture: x at `hook` and its target y at `output.hook`,
 * both columns of the same row (the same token), so the pairs line up by construction; y is
 * scaled by its own s_out.
 */
import { FileFormatError } from '../src/errors.js';
import type { Capture } from '../src/store/index.js';
import { describeRow } from './split.js';

/** Where the stream stands: epoch, and rows of that epoch's permutation consumed. */
export interface StreamPosition {
  readonly epoch: number;
  readonly position: number;
}

export interface TrainBatch {
  /** [B, d] scaled rows (a fresh array per batch). */
  readonly x: Float32Array;
  /** Transcoders: [B, o] scaled rows of the output hook, row b the same token as x's row b. */
  readonly y?: Float32Array;
  readonly rows: number;
  /** Position after this batch. */
  readonly next: StreamPosition;
}

export interface StreamOptions {
  readonly hook: string;
  readonly d: number;
  readonly batchRows: number;
  readonly seed: number;
  /** Input scale s. */
  readonly scale: number;
  /** [rows] 1 for held-out rows (never trained on). */
  readonly heldOut: Uint8Array;
  readonly start: StreamPosition;
  /** Transcoders: the output hook, its width o and its scale s_out. */
  readonly output?: { readonly hook: string; readonly d: number; readonly scale: number };
}

function checkFinite(capture: Capture, hook: string, row: Float32Array, globalRow: number): void {
  for (let j = 0; j < row.length; j++) {
    if (!Number.isFinite(row[j])) {
      throw new FileFormatError(`${describeRow(capture, globalRow)} of hook ${hook} holds ${row[j]} at dimension ${j}; training stopped`, 'the activations overflowed or the capture is damaged: capture again (f32, or a model without overflow)');
    }
  }
}

/** Endless batches from `start` (the caller stops when it has the tokens it wants). */
export function* trainBatches(capture: Capture, o: StreamOptions): Generator<TrainBatch> {
  const { d, batchRows: B } = o;
  const trainRows = o.heldOut.reduce((a, v) => a + (v ? 0 : 1), 0);
  if (trainRows < B) throw new FileFormatError(`${capture.dir}: ${trainRows} training rows (after holding out evaluation sequences), fewer than one batch of ${B}`, 'capture more tokens, or lower --batch-tokens or --eval-fraction');
  let { epoch, position } = o.start;
  const out = o.output;
  const dOut = out?.d ?? 0;
  for (;;) {
    let x = new Float32Array(B * d);
    let y = out ? new Float32Array(B * dOut) : undefined;
    let filled = 0;
    let consumed = 0;
    const seed = (o.seed + epoch) >>> 0;
    for (const read of capture.shuffledBatches({ hooks: out ? [o.hook, out.hook] : o.hook, batchRows: B, seed })) {
      const data = read.hooks[o.hook];
      const target = out ? read.hooks[out.hook] : null;
      // Skip whole read batches before the start position (they are still read: the store has no seek).
      if (consumed + read.rows <= position) {
        consumed += read.rows;
        continue;
      }
      for (let i = Math.max(0, position - consumed); i < read.rows; i++) {
        const globalRow = read.index[i];
        if (o.heldOut[globalRow]) continue;
        const row = data.subarray(i * d, (i + 1) * d);
        checkFinite(capture, o.hook, row, globalRow);
        for (let j = 0; j < d; j++) x[filled * d + j] = row[j] * o.scale;
        if (out && target && y) {
          const rowOut = target.subarray(i * dOut, (i + 1) * dOut);
          checkFinite(capture, out.hook, rowOut, globalRow);
          for (let j = 0; j < dOut; j++) y[filled * dOut + j] = rowOut[j] * out.scale;
        }
        filled++;
        if (filled === B) {
          position = consumed + i + 1;
          yield { x, ...(y ? { y } : {}), rows: B, next: { epoch, position } };
          x = new Float32Array(B * d);
          y = out ? new Float32Array(B * dOut) : undefined;
          filled = 0;
        }
      }
      consumed += read.rows;
    }
    epoch += 1;
    position = 0;
  }
}
