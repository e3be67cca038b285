/**
 * Shuffled batches: a truly uniform permutation of all rows, with bounded memory.
 *
 * Choice: a global Fisher–Yates permutation of the row indices, stored once in the capture
 * directory as `permutation-<seed>.bin` (written atomically, reused by later runs), then rows are
 * fetched by index with positioned reads. A shard-order + window shuffle would be cheaper on
 * disk seeks but is not uniform (rows of one window stay close together in time), which biases
 * SAE training on long captures; row-level reads from the page cache cost a few µs per row.
 *
 * Memory: building the permutation holds 4 bytes per row once (Uint32Array; a capture row is at
 * least d·2 bytes per hook, so this is under 1% of the capture for d ≥ 256); reading holds one
 * batch: batchRows indices plus batchRows·d floats per hook. The file is a cache: the same seed
 * always yields the same permutation, so a read-only directory just recomputes it.
 *
 * permutation-<seed>.bin: "IPERM001" (8 bytes), rows u32 LE, seed u32 LE, then rows × u32 LE.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileFormatError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readAt } from './ipc-index.js';
import type { Capture } from './reader.js';

export interface ShuffleOptions {
  /** Hook or hooks to read. */
  hooks: string | readonly string[];
  /** Rows per yielded batch (the last one may be shorter). */
  batchRows: number;
  /** Any integer in [0, 2^32): the same seed gives the same order. */
  seed: number;
}

export interface ShuffledRows {
  /** Rows n in this batch. */
  rows: number;
  /** [n] global row index of each row (index into Capture.labels(name).values, etc.). */
  index: Uint32Array;
  /** Per hook, [n, d] fp32. */
  hooks: Record<string, Float32Array>;
}

const MAGIC = 'IPERM001';
/** Longest run of adjacent rows fetched with one read. */
const MAX_RUN = 256;
const HEADER = 16;

export function* shuffledBatches(capture: Capture, options: ShuffleOptions): Generator<ShuffledRows> {
  const names = typeof options.hooks === 'string' ? [options.hooks] : [...options.hooks];
  const hooks = names.map((h) => capture.hookIndex(h));
  const batchRows = options.batchRows;
  if (!Number.isSafeInteger(batchRows) || batchRows < 1 || batchRows > 1 << 21) {
    throw new UsageError(`batchRows must be an integer in [1, 2097152], got ${batchRows}`, 'pass a smaller batch size');
  }
  const perm = permutationFile(capture.dir, capture.rows, options.seed);
  const fd = fs.openSync(perm.file, 'r');
  try {
    for (let start = 0; start < capture.rows; start += batchRows) {
      const n = Math.min(batchRows, capture.rows - start);
      const index = new Uint32Array(n);
      readAt(fd, HEADER + start * 4, n * 4, new Uint8Array(index.buffer), perm.file);
      // The file is a cache in the capture directory, checked by its header only: check its rows too.
      const bad = index.findIndex((row) => row >= capture.rows);
      if (bad >= 0) throw new FileFormatError(`${perm.file}: entry ${start + bad} is row ${index[bad]}, past the capture's ${capture.rows} rows`, 'the cached permutation is damaged: delete it (it is rebuilt from the seed)');
      const out: ShuffledRows = { rows: n, index, hooks: {} };
      for (const k of hooks) out.hooks[capture.hooks[k].name] = new Float32Array(n * capture.hooks[k].d);
      gatherRows(capture, index, hooks, out);
      yield out;
    }
  } finally {
    fs.closeSync(fd);
    if (perm.temporary) fs.rmSync(perm.file, { force: true });
  }
}

/**
 * Reads rows `index` (any order) into `out`: sorted by position in the capture so each record
 * batch is visited once, and runs of adjacent rows become one read.
 */
function gatherRows(capture: Capture, index: Uint32Array, hooks: readonly number[], out: ShuffledRows): void {
  const n = index.length;
  // key = row · 2^21 + output slot: sorting the doubles sorts by row (rows < 2^32, slots < 2^21).
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = index[i] * 2097152 + i;
  keys.sort();
  const shards = capture.shards;
  // One scratch per hook for a whole batch: reads are runs of at most MAX_RUN adjacent rows.
  const scratches = hooks.map((k) => ({ f32: new Float32Array(MAX_RUN * capture.hooks[k].d), f16: new Uint16Array(MAX_RUN * capture.hooks[k].d) }));
  let s = 0;
  let i = 0;
  while (i < n) {
    const row = Math.floor(keys[i] / 2097152);
    while (shards[s].firstRow + shards[s].entry.rows <= row) s++;
    const shard = shards[s];
    const b = lastAtOrBelow(shard.batchStarts, row);
    const batchStart = shard.batchStarts[b];
    const batchEnd = batchStart + shard.index.batches[b].rows;
    // Extend the run while rows stay consecutive inside this record batch.
    let j = i + 1;
    while (j < n && j - i < MAX_RUN && Math.floor(keys[j] / 2097152) === row + (j - i) && row + (j - i) < batchEnd) j++;
    const runRows = j - i;
    hooks.forEach((k, h) => {
      const d = capture.hooks[k].d;
      const scratch = scratches[h];
      capture.readHookRows(shard, shard.index.batches[b].columns[capture.hookField(k)][1], d, row - batchStart, runRows, scratch.f32, 0, scratch.f16);
      const dst = out.hooks[capture.hooks[k].name];
      for (let r = 0; r < runRows; r++) {
        const slot = keys[i + r] % 2097152;
        dst.set(scratch.f32.subarray(r * d, (r + 1) * d), slot * d);
      }
    });
    i = j;
  }
}

function lastAtOrBelow(starts: readonly number[], row: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The permutation file for (rows, seed), created when missing or stale. */
export function permutationFile(dir: string, rows: number, seed: number): { file: string; temporary: boolean } {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError(`seed must be an integer in [0, 4294967295], got ${seed}`, 'pass a non-negative integer seed');
  if (rows > 0xffffffff) throw new UsageError(`${dir}: ${rows} rows is more than a shuffle index holds (2^32)`, 'split the capture');
  const file = path.join(dir, `permutation-${seed}.bin`);
  if (validPermutationFile(file, rows, seed)) return { file, temporary: false };
  const bytes = encodePermutation(makePermutation(rows, seed), seed);
  try {
    writeFileAtomic(file, [bytes]);
    return { file, temporary: false };
  } catch (err) {
    if (!(err instanceof FileFormatError)) throw err;
    // A read-only capture: the permutation is a pure function of the seed, so a private copy serves.
    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'interp-perm-')), 'permutation.bin');
    fs.writeFileSync(tmp, bytes);
    return { file: tmp, temporary: true };
  }
}

function validPermutationFile(file: string, rows: number, seed: number): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    if (fs.fstatSync(fd).size !== HEADER + rows * 4) return false;
    const head = readAt(fd, 0, HEADER);
    const view = new DataView(head.buffer);
    return String.fromCharCode(...head.subarray(0, 8)) === MAGIC && view.getUint32(8, true) === rows && view.getUint32(12, true) === seed;
  } finally {
    fs.closeSync(fd);
  }
}

function encodePermutation(perm: Uint32Array, seed: number): Uint8Array {
  const out = new Uint8Array(HEADER + perm.byteLength);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  const view = new DataView(out.buffer);
  view.setUint32(8, perm.length, true);
  view.setUint32(12, seed, true);
  out.set(new Uint8Array(perm.buffer, perm.byteOffset, perm.byteLength), HEADER);
  return out;
}

/** Fisher–Yates (Knuth, TAOCP vol. 2, Algorithm P) driven by xoshiro128** with unbiased bounds. */
export function makePermutation(rows: number, seed: number): Uint32Array {
  const perm = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) perm[i] = i;
  const next = xoshiro128ss(seed);
  for (let i = rows - 1; i > 0; i--) {
    const j = boundedRandom(next, i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/** Uniform integer in [0, bound) by rejection: draws above the largest multiple of bound are redrawn. */
function boundedRandom(next: () => number, bound: number): number {
  const limit = 4294967296 - (4294967296 % bound);
  for (;;) {
    const r = next();
    if (r < limit) return r % bound;
  }
}

/** xoshiro128** (Blackman & Vigna 2018), state seeded by splitmix32 so any seed is usable. */
export function xoshiro128ss(seed: number): () => number {
  let x = seed >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
}

function rotl(v: number, k: number): number {
  return (v << k) | (v >>> (32 - k));
}
