/**
 * Train / evaluation split of a capture by sequence (never by token: tokens of one sequence are
 * correlated, and metrics on held-out tokens of a trained-on sequence would flatter the SAE).
 * A sequence is held out when a hash of its index falls below the fraction, so the split is
 * stable across seeds, widths and variants and needs no state: runs are comparable.
 */
import type { Capture } from '../src/store/index.js';

/** splitmix32 finaliser of the sequence index, as a fraction in [0, 1). */
function hashFraction(seq: number): number {
  let z = (seq + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
}

/** The held-out predicate for `fraction` of the sequences. */
export function heldOutSequences(fraction: number): (seq: number) => boolean {
  return (seq) => hashFraction(seq) < fraction;
}

/** Per row of `capture`: 1 when its sequence is held out (1 byte per row). */
export function heldOutRows(capture: Capture, isHeldOut: (seq: number) => boolean): Uint8Array {
  const out = new Uint8Array(capture.rows);
  for (const b of capture.batches({ hooks: [], columns: [], batchRows: 1 << 16 })) {
    for (let i = 0; i < b.rows; i++) out[b.start + i] = isHeldOut(b.seq[i]) ? 1 : 0;
  }
  return out;
}

/** "shard-00002.arrow row 811 (global row 70411)" for messages about one row. */
export function describeRow(capture: Capture, row: number): string {
  const shard = capture.shards.find((s) => row >= s.firstRow && row < s.firstRow + s.entry.rows);
  return shard ? `${shard.path} row ${row - shard.firstRow} (global row ${row})` : `global row ${row}`;
}
