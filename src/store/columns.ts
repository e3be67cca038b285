/**
 * Columnar row blocks and their Arrow form. A RowBlock is n rows held as typed arrays (one per
 * column); record batches are built from it with makeData, never row by row, so that a shard of
 * 12 hooks × 768 dims × 100k rows costs memcpy-scale time.
 *
 * Shard schema (one row per kept token):
 *   seq int32, pos int32, token_id int32, token dictionary<int32, utf8>,
 *   label columns: dictionary<int32, utf8> | float64 | bool (nullable),
 *   one FixedSizeList<float16|float32>[d] column per hook, named by the hook.
 */
import {
  Bool,
  Data,
  Dictionary,
  Field,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int32,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  type DataType,
  type Vector,
} from 'apache-arrow';
import type { CaptureDtype, HookSpec, LabelColumn } from './manifest.js';

export type LabelValue = string | number | boolean | null;

/** n rows in columnar form. Hook arrays are [n, d] row-major: f16 bit patterns or f32 values. */
export interface RowBlock {
  n: number;
  seq: Int32Array;
  pos: Int32Array;
  tokenId: Int32Array;
  token: string[];
  /** One array of n values per label column, in label_columns order. */
  labels: LabelValue[][];
  /** One array per hook, in hooks order: Uint16Array (f16 bits) or Float32Array, n·d values. */
  hooks: (Uint16Array | Float32Array)[];
}

export function sliceBlock(b: RowBlock, start: number, end: number, hooks: readonly HookSpec[]): RowBlock {
  return {
    n: end - start,
    seq: b.seq.subarray(start, end),
    pos: b.pos.subarray(start, end),
    tokenId: b.tokenId.subarray(start, end),
    token: b.token.slice(start, end),
    labels: b.labels.map((l) => l.slice(start, end)),
    hooks: b.hooks.map((h, k) => h.subarray(start * hooks[k].d, end * hooks[k].d)),
  };
}

export function concatBlocks(parts: readonly RowBlock[], hooks: readonly HookSpec[], dtype: CaptureDtype): RowBlock {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.n, 0);
  const cat = <A extends Int32Array | Uint16Array | Float32Array>(make: (len: number) => A, get: (p: RowBlock) => A, width: number): A => {
    const out = make(n * width);
    let at = 0;
    for (const p of parts) {
      out.set(get(p), at);
      at += p.n * width;
    }
    return out;
  };
  return {
    n,
    seq: cat((l) => new Int32Array(l), (p) => p.seq, 1),
    pos: cat((l) => new Int32Array(l), (p) => p.pos, 1),
    tokenId: cat((l) => new Int32Array(l), (p) => p.tokenId, 1),
    token: parts.flatMap((p) => p.token),
    labels: parts[0].labels.map((_, j) => parts.flatMap((p) => p.labels[j])),
    hooks: hooks.map((h, k) =>
      dtype === 'f16'
        ? cat((l) => new Uint16Array(l), (p) => p.hooks[k] as Uint16Array, h.d)
        : cat((l) => new Float32Array(l), (p) => p.hooks[k] as Float32Array, h.d),
    ),
  };
}

/** The Arrow type of a hook column. Child field named "item", as pyarrow names list children. */
export function hookType(d: number, dtype: CaptureDtype): FixedSizeList {
  return new FixedSizeList(d, new Field('item', dtype === 'f16' ? new Float16() : new Float32(), true));
}

/**
 * Dictionaries shared by every record batch of one shard. The IPC file format cannot replace a
 * dictionary between batches, so a shard's string columns are encoded against one dictionary
 * built from all its rows before the first batch is written.
 */
export interface ShardDictionaries {
  schema: Schema;
  token: { type: Dictionary<Utf8, Int32>; codes: Map<string, number>; vector: Vector<Utf8> };
  labels: ({ type: Dictionary<Utf8, Int32>; codes: Map<string, number>; vector: Vector<Utf8> } | null)[];
}

/** Builds the shard schema and its dictionaries from all the shard's rows. */
export function shardDictionaries(
  blocks: readonly RowBlock[],
  hooks: readonly HookSpec[],
  labels: readonly LabelColumn[],
  dtype: CaptureDtype,
  metadata: Map<string, string>,
): ShardDictionaries {
  // Fixed dictionary ids (token 0, label column j → j + 1) keep shard bytes reproducible.
  const dict = (values: Iterable<LabelValue>, id: number) => {
    const codes = new Map<string, number>();
    for (const v of values) if (typeof v === 'string' && !codes.has(v)) codes.set(v, codes.size);
    return { type: new Dictionary(new Utf8(), new Int32(), id), codes, vector: utf8Vector([...codes.keys()]) };
  };
  const token = dict(blocks.flatMap((b) => b.token), 0);
  const labelDicts = labels.map((c, j) => (c.type === 'string' ? dict(blocks.flatMap((b) => b.labels[j]), j + 1) : null));
  const fields: Field[] = [
    new Field('seq', new Int32(), false),
    new Field('pos', new Int32(), false),
    new Field('token_id', new Int32(), false),
    new Field('token', token.type, false),
    ...labels.map((c, j) => new Field(c.name, labelType(c, labelDicts[j]?.type), true)),
    ...hooks.map((h) => new Field(h.name, hookType(h.d, dtype), false)),
  ];
  return { schema: new Schema(fields, metadata), token, labels: labelDicts };
}

function labelType(c: LabelColumn, dictType: Dictionary<Utf8, Int32> | undefined): DataType {
  switch (c.type) {
    case 'string':
      return dictType as Dictionary<Utf8, Int32>;
    case 'number':
      return new Float64();
    case 'boolean':
      return new Bool();
  }
}

/** Builds one record batch of block `b` against the shard's schema and dictionaries. */
export function toRecordBatch(b: RowBlock, shard: ShardDictionaries, hooks: readonly HookSpec[], labels: readonly LabelColumn[], dtype: CaptureDtype): RecordBatch {
  const n = b.n;
  const int32 = (data: Int32Array) => makeData({ type: new Int32(), length: n, nullCount: 0, data });
  const children: Data[] = [int32(b.seq), int32(b.pos), int32(b.tokenId), dictData(b.token, shard.token, n)];
  labels.forEach((c, j) => {
    const values = b.labels[j];
    const dictInfo = shard.labels[j];
    if (c.type === 'string' && dictInfo) children.push(dictData(values, dictInfo, n));
    else if (c.type === 'number') children.push(float64Data(values, n));
    else children.push(boolData(values, n));
  });
  hooks.forEach((h, k) => {
    const values = b.hooks[k];
    const childType = dtype === 'f16' ? new Float16() : new Float32();
    const child = makeData({ type: childType, length: n * h.d, nullCount: 0, data: values as Uint16Array & Float32Array });
    children.push(makeData({ type: hookType(h.d, dtype), length: n, nullCount: 0, child }));
  });
  const data = makeData({ type: new Struct(shard.schema.fields), length: n, nullCount: 0, children });
  return new RecordBatch(shard.schema, data);
}

/** A plain utf8 vector (a dictionary's values). */
export function utf8Vector(strings: readonly string[]): Vector<Utf8> {
  const enc = new TextEncoder();
  const bytes = strings.map((s) => enc.encode(s));
  const valueOffsets = new Int32Array(strings.length + 1);
  for (let i = 0; i < bytes.length; i++) valueOffsets[i + 1] = valueOffsets[i] + bytes[i].length;
  const data = new Uint8Array(valueOffsets[strings.length]);
  bytes.forEach((b, i) => data.set(b, valueOffsets[i]));
  return makeVector(makeData({ type: new Utf8(), length: strings.length, nullCount: 0, valueOffsets, data }));
}

/** Validity bitmap (LSB first, 1 = valid) and null count of `values`. */
function validity(values: readonly LabelValue[], n: number): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (values[i] === null) nullCount++;
    else nullBitmap[i >> 3] |= 1 << (i & 7);
  }
  return { nullBitmap, nullCount };
}

function dictData(values: readonly LabelValue[], d: { type: Dictionary<Utf8, Int32>; codes: Map<string, number>; vector: Vector<Utf8> }, n: number): Data {
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    indices[i] = typeof v === 'string' ? (d.codes.get(v) as number) : 0;
  }
  const { nullBitmap, nullCount } = validity(values, n);
  return makeData({ type: d.type, length: n, nullCount, nullBitmap: nullCount ? nullBitmap : null, data: indices, dictionary: d.vector });
}

function float64Data(values: readonly LabelValue[], n: number): Data {
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = typeof values[i] === 'number' ? (values[i] as number) : 0;
  const { nullBitmap, nullCount } = validity(values, n);
  return makeData({ type: new Float64(), length: n, nullCount, nullBitmap: nullCount ? nullBitmap : null, data });
}

function boolData(values: readonly LabelValue[], n: number): Data {
  const data = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (values[i] === true) data[i >> 3] |= 1 << (i & 7);
  const { nullBitmap, nullCount } = validity(values, n);
  return makeData({ type: new Bool(), length: n, nullCount, nullBitmap: nullCount ? nullBitmap : null, data });
}
