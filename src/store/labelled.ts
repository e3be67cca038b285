/**
 * Reading a capture the way techniques train on it: the label column turned into class indices
 * with the rows that carry a label, their sequence and token ids, and one hook's activations at a
 * time. Probes and SAE sparse probing both read labelled captures through here.
 *
 * Vocabulary: n = rows of the capture, d = width of a hook, K = classes.
 */
import { UsageError } from '../errors.js';
import type { LabelValue } from './columns.js';
import type { Capture } from './reader.js';

/** A class value as the label column holds it. */
export type ClassValue = string | number | boolean;

/** The labelled rows of a capture. */
export interface LabelledRows {
  /** Label column name. */
  readonly field: string;
  /** Class values in index order (sorted as sklearn's classes_: numbers numerically, strings by code point, false < true). */
  readonly classes: readonly ClassValue[];
  /** [n] class index per capture row, −1 where the label is missing. */
  readonly y: Int32Array;
  /** Indices of rows with a label, ascending. */
  readonly rows: Int32Array;
  /** [n] sequence index per row. */
  readonly seq: Int32Array;
  /** [n] token id per row (the control task's token types). */
  readonly tokenId: Int32Array;
  /** [n] token text per row. */
  readonly token: readonly string[];
}

function compareClasses(a: ClassValue, b: ClassValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const [sa, sb] = [String(a), String(b)];
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Reads the label column `field` and the row metadata; refuses a missing column or fewer than two classes. */
export function readLabelledRows(capture: Capture, field: string): LabelledRows {
  const columns = capture.labelColumns.map((c) => c.name);
  if (!columns.includes(field)) {
    throw new UsageError(
      `${capture.dir}: no label column "${field}" (label columns: ${columns.join(', ') || 'none'})`,
      `pass --label with one of the capture's label columns${columns.length ? ` (e.g. --label ${columns[0]})` : '; capture a dataset whose JSONL lines carry a label field'}`,
    );
  }
  const values: LabelValue[] = capture.labels(field).values;
  const classes = [...new Set(values.filter((v): v is ClassValue => v !== null))].sort(compareClasses);
  if (classes.length < 2) {
    throw new UsageError(
      `${capture.dir}: label column "${field}" has ${classes.length === 0 ? 'no values' : `one class only (${JSON.stringify(classes[0])})`}; a probe needs at least two classes`,
      'capture a dataset where the label takes at least two values, or pick another --label',
    );
  }
  const index = new Map<ClassValue, number>(classes.map((c, i) => [c, i]));
  const n = capture.rows;
  const y = new Int32Array(n).fill(-1);
  const seq = new Int32Array(n);
  const tokenId = new Int32Array(n);
  const token: string[] = [];
  for (const b of capture.batches({ hooks: [], batchRows: 8192, columns: ['token'] })) {
    seq.set(b.seq, b.start);
    tokenId.set(b.tokenId, b.start);
    for (const t of b.token) token.push(t);
  }
  const rows: number[] = [];
  values.forEach((v, i) => {
    if (v !== null) { y[i] = index.get(v) ?? -1; rows.push(i); }
  });
  return { field, classes, y, rows: Int32Array.from(rows), seq, tokenId, token };
}

/** Width d of a captured hook. */
export function hookWidth(capture: Capture, hook: string): number {
  return capture.hooks[capture.hookIndex(hook)].d;
}

/** Activations of `hook` for every row, [n, d] row-major (one hook at a time keeps memory to n·d floats). */
export function readHook(capture: Capture, hook: string): Float32Array {
  const d = hookWidth(capture, hook);
  const out = new Float32Array(capture.rows * d);
  for (const b of capture.batches({ hooks: [hook], batchRows: 8192, columns: [] })) out.set(b.hooks[hook], b.start * d);
  return out;
}

/** Rows `rows` of a row-major [n, d] matrix, packed. */
export function gatherRows(x: Float32Array, d: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(x.subarray(r * d, (r + 1) * d), i * d));
  return out;
}
