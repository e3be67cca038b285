/**
 * The mutations of the parser fuzzing (fuzz-cases.ts), as plain data so that fast-check shrinks
 * them: byte edits (truncate, flip, overwrite with extreme integers, insert, empty) and JSON edits
 * at a path of the parsed tree (replace with a hostile value, delete, duplicate a key, wrap, raw
 * non-JSON tokens such as NaN). How a JSON edit reaches the JSON inside a file depends on its
 * kind: a safetensors header is rewritten with a consistent length prefix, a JSONL file has one
 * line edited, an .npz has the header of one of its .npy arrays edited (the archive is written
 * here, as numpy.savez lays it out).
 */
import fc from 'fast-check';
import { npyBytes, npyHeader, zip } from '../helpers/npz.js';

/** Where in a file a byte mutation lands: near the start, near the end, or anywhere. */
export interface At {
  readonly region: 'start' | 'end' | 'any';
  /** In [0, 1). */
  readonly f: number;
}

export type ByteMutation =
  | { readonly op: 'truncate'; readonly at: At }
  | { readonly op: 'flip'; readonly at: At; readonly xor: number }
  | { readonly op: 'overwrite'; readonly at: At; readonly bytes: readonly number[] }
  | { readonly op: 'int'; readonly at: At; readonly width: 4 | 8; readonly value: bigint }
  | { readonly op: 'insert'; readonly at: At; readonly bytes: readonly number[] }
  | { readonly op: 'empty' };

/** A JSON value, or raw text spliced into the document as it is (NaN, 1e999, duplicate keys...). */
export type Hostile = { readonly json: unknown } | { readonly raw: string };

export type JsonMutation =
  | { readonly op: 'replace'; readonly path: number; readonly value: Hostile }
  | { readonly op: 'delete'; readonly path: number }
  | { readonly op: 'duplicate-key'; readonly path: number; readonly value: Hostile }
  | { readonly op: 'wrap'; readonly path: number; readonly depth: number };

export type Mutation = ByteMutation | JsonMutation;

const at: fc.Arbitrary<At> = fc.record({
  region: fc.constantFrom('start', 'end', 'any'),
  f: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

const bytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 });

/** Integers that break length and offset fields: 0, -1, sign bits, 2^31, 2^53, 2^64 − 1, random. */
const extremeInt = fc.oneof(
  fc.constantFrom(0n, 1n, 7n, 8n, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 100n * 1024n * 1024n, 100n * 1024n * 1024n + 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.bigInt({ min: 0n, max: 4096n }),
);

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constant('flip' as const), at, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('overwrite' as const), at, bytes }),
  fc.record({ op: fc.constant('int' as const), at, width: fc.constantFrom(4 as const, 8 as const), value: extremeInt }),
  fc.record({ op: fc.constant('insert' as const), at, bytes }),
  fc.constant({ op: 'empty' as const }),
);

/** Nested arrays `depth` deep, as text: deep enough to overflow a recursive walker (JSON.parse itself copes). */
function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Values a parser must refuse or survive in any field. */
export const hostile: fc.Arbitrary<Hostile> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 0.5, -0.0, 2 ** 31, 2 ** 32, 2 ** 53 + 2, 1e308, -1e308, 1e-320, '', ' ', '..', '.', '../x', '../../etc/passwd', '/etc/passwd', 'C:\\Windows\\x', 'a/../../b', 'sub/x', '\u0000', 'ångry 😠', '\ud800', 'NaN', 'F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F64', 'F8_E4M3', '<f4', '|O', [], {}, [1, 2, 3], [-1, 2], [0, 2 ** 53], [2 ** 32, 2 ** 32], { a: 1 }, ['../x'], [[[]]]).map((json) => ({ json })) },
  { weight: 2, arbitrary: fc.integer().map((json) => ({ json })) },
  { weight: 1, arbitrary: fc.double().map((json) => ({ json })) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map((json) => ({ json })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((json) => ({ json })) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 100_000 }).map((d) => ({ raw: nested(d) })) },
  { weight: 2, arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '0x10', '01', 'undefined', '"\\ud800"', '{"a":1,"a":2}', '[1,]', '"unterminated', '').map((raw) => ({ raw })) },
);

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), path: fc.nat(), value: hostile }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate-key' as const), path: fc.nat(), value: hostile }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), path: fc.nat(), depth: fc.integer({ min: 1, max: 3 }) }) },
);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof({ weight: 2, arbitrary: byteMutation }, { weight: 3, arbitrary: jsonMutation });

function position(a: At, size: number): number {
  if (size === 0) return 0;
  switch (a.region) {
    case 'start':
      return Math.floor(a.f * Math.min(size, 64));
    case 'end':
      return Math.max(0, size - 1 - Math.floor(a.f * Math.min(size, 512)));
    case 'any':
      return Math.floor(a.f * size);
  }
}

export function applyBytes(data: Buffer, m: ByteMutation): Buffer {
  const out = Buffer.from(data);
  switch (m.op) {
    case 'truncate':
      return out.subarray(0, position(m.at, out.length));
    case 'flip': {
      if (out.length === 0) return out;
      const i = position(m.at, out.length);
      out[i] ^= m.xor;
      return out;
    }
    case 'overwrite': {
      const i = position(m.at, out.length);
      for (let k = 0; k < m.bytes.length && i + k < out.length; k++) out[i + k] = m.bytes[k];
      return out;
    }
    case 'int': {
      const i = Math.min(position(m.at, out.length), Math.max(0, out.length - m.width));
      if (out.length < m.width) return out;
      if (m.width === 8) out.writeBigUInt64LE(m.value & (2n ** 64n - 1n), i);
      else out.writeUInt32LE(Number(m.value & 0xffffffffn), i);
      return out;
    }
    case 'insert': {
      const i = position(m.at, out.length);
      return Buffer.concat([out.subarray(0, i), Buffer.from(m.bytes), out.subarray(i)]);
    }
    case 'empty':
      return Buffer.alloc(0);
  }
}

type Path = readonly (string | number)[];

/** Every path of a JSON tree (root first, then depth-first), capped so huge vocabularies stay cheap. */
function paths(value: unknown, limit = 4000): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, p: Path): void => {
    if (out.length >= limit) return;
    out.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(value, []);
  return out;
}

const PLACEHOLDER = '\u0001interp-fuzz-placeholder\u0001';

/** `root` with the value at `p` replaced by `by` (a copy; root itself when p is empty). */
function setAt(root: unknown, p: Path, by: unknown): unknown {
  if (p.length === 0) return by;
  const copy: unknown = Array.isArray(root) ? [...root] : { ...(root as object) };
  const [head, ...rest] = p;
  (copy as Record<string | number, unknown>)[head] = setAt((root as Record<string | number, unknown>)[head], rest, by);
  return copy;
}

function getAt(root: unknown, p: Path): unknown {
  return p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root);
}

/** JSON text of `root` with the value at `p` replaced by raw text. */
function spliceRaw(root: unknown, p: Path, raw: string): string {
  return JSON.stringify(setAt(root, p, PLACEHOLDER)).replace(JSON.stringify(PLACEHOLDER), () => raw);
}

function hostileText(h: Hostile): string {
  return 'raw' in h ? h.raw : (JSON.stringify(h.json) ?? 'null');
}

/** Applies a JSON mutation to the JSON text `text` (returned unchanged when it does not parse or is too deep to rewrite). */
export function applyJson(text: string, m: JsonMutation): string {
  try {
    return applyJsonTo(JSON.parse(text), m);
  } catch {
    return text;
  }
}

function applyJsonTo(root: unknown, m: JsonMutation): string {
  const all = paths(root);
  const p = all[m.path % all.length];
  switch (m.op) {
    case 'replace':
      return spliceRaw(root, p, hostileText(m.value));
    case 'delete': {
      if (p.length === 0) return '';
      const parent = getAt(root, p.slice(0, -1));
      const key = p[p.length - 1];
      const copy = Array.isArray(parent) ? parent.filter((_, i) => i !== key) : Object.fromEntries(Object.entries(parent as object).filter(([k]) => k !== key));
      return JSON.stringify(setAt(root, p.slice(0, -1), copy));
    }
    case 'duplicate-key': {
      // The nearest object at or above p gets a second copy of one of its keys (JSON.parse keeps the last).
      let q = p;
      while (q.length > 0 && !isObject(getAt(root, q))) q = q.slice(0, -1);
      const obj = getAt(root, q);
      if (!isObject(obj) || Object.keys(obj).length === 0) return spliceRaw(root, q, hostileText(m.value));
      const keys = Object.keys(obj);
      const key = keys[m.path % keys.length];
      const body = JSON.stringify(obj);
      return spliceRaw(root, q, `${body.slice(0, -1)},${JSON.stringify(key)}:${hostileText(m.value)}}`);
    }
    case 'wrap': {
      let v = getAt(root, p);
      for (let i = 0; i < m.depth; i++) v = i % 2 ? { value: v } : [v];
      return JSON.stringify(setAt(root, p, v));
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// File kinds: how a JSON mutation reaches the JSON inside a file

/** json: the whole file; jsonl: one line (chosen by the path index); safetensors: its header; npz: one .npy header; bytes: none. */
export type FileKind = 'json' | 'jsonl' | 'safetensors' | 'npz' | 'bytes';

function mutateSafetensorsHeader(data: Buffer, m: JsonMutation): Buffer {
  if (data.length < 8) return data;
  const n = Number(data.readBigUInt64LE(0));
  if (8 + n > data.length) return data;
  const text = applyJson(data.toString('utf8', 8, 8 + n), m);
  const json = Buffer.from(text, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, data.subarray(8 + n)]);
}

function mutateJsonl(data: Buffer, m: JsonMutation): Buffer {
  const lines = data.toString('utf8').split('\n');
  const i = m.path % lines.length;
  lines[i] = applyJson(lines[i], m);
  return Buffer.from(lines.join('\n'), 'utf8');
}

export function isByteMutation(m: Mutation): m is ByteMutation {
  return m.op === 'truncate' || m.op === 'flip' || m.op === 'overwrite' || m.op === 'int' || m.op === 'insert' || m.op === 'empty';
}

export function applyMutation(data: Buffer, kind: FileKind, m: Mutation): Buffer {
  if (isByteMutation(m)) return applyBytes(data, m);
  switch (kind) {
    case 'json':
      return Buffer.from(applyJson(data.toString('utf8'), m), 'utf8');
    case 'jsonl':
      return mutateJsonl(data, m);
    case 'safetensors':
      return mutateSafetensorsHeader(data, m);
    case 'npz':
      return mutateNpz(data, m); // writeCase applies these before building the archive
    case 'bytes':
      // Binary files without JSON inside: the JSON mutation's numbers still pick a byte edit.
      return applyBytes(data, { op: 'int', at: { region: 'any', f: (m.path % 997) / 997 }, width: m.path % 2 ? 4 : 8, value: BigInt(m.path) * 65_537n });
  }
}

// ---------------------------------------------------------------------------------------------
// .npz archives (numpy.savez layout), written here so their .npy headers can be mutated

interface NpyArray {
  name: string;
  /** Python-literal header dict, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } */
  header: string;
  body: Buffer;
}


/**
 * Gemma Scope arrays for d_in 3, d_sae 4. The npz target keeps them (not zip bytes) so that a JSON
 * mutation can edit one array's header: the mutation is applied to {descr, fortran_order, shape}
 * as JSON and written back as the Python literal.
 */
export function gemmaArrays(): NpyArray[] {
  const f32 = (n: number) => Buffer.from(Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 0.5).buffer);
  const arr = (name: string, shape: number[]) => ({ name, header: npyHeader('<f4', shape), body: f32(shape.reduce((a, b) => a * b, 1)) });
  return [arr('W_enc', [3, 4]), arr('W_dec', [4, 3]), arr('b_enc', [4]), arr('b_dec', [3]), arr('threshold', [4])];
}

/** Marker at the start of the npz seed: the arrays as JSON, so mutations can rebuild the archive. */
const NPZ_SEED = 'interp-fuzz-npz\n';

export function npzSeed(arrays: NpyArray[], deflate: boolean): Buffer {
  return Buffer.from(NPZ_SEED + JSON.stringify({ deflate, arrays: arrays.map((a) => ({ name: a.name, header: a.header, body: a.body.toString('base64') })) }), 'utf8');
}

/** The archive a seed describes (the form written to disk). */
export function npzFromSeed(seed: Buffer): Buffer {
  const text = seed.toString('utf8');
  if (!text.startsWith(NPZ_SEED)) return seed;
  const { deflate, arrays } = JSON.parse(text.slice(NPZ_SEED.length)) as { deflate: boolean; arrays: { name: string; header: string; body: string }[] };
  return zip(arrays.map((a) => ({ name: `${a.name}.npy`, data: npyBytes(a.header, Buffer.from(a.body, 'base64')) })), deflate);
}

/** Python literal dict of an .npy header ↔ JSON, for mutation. */
function headerToJson(h: string): unknown {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(h)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(h)?.[1] === 'True';
  const shape = (/'shape'\s*:\s*\(([^)]*)\)/.exec(h)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, fortran_order: fortran, shape };
}

function jsonToHeader(v: unknown): string {
  const o = isObject(v) ? v : {};
  const lit = (x: unknown): string => (x === true ? 'True' : x === false ? 'False' : typeof x === 'string' ? `'${x}'` : Array.isArray(x) ? `(${x.map(lit).join(', ')}${x.length === 1 ? ',' : ''})` : String(x));
  return `{${Object.entries(o).map(([k, x]) => `'${k}': ${lit(x)}`).join(', ')}, }`;
}

export function mutateNpz(seed: Buffer, m: JsonMutation): Buffer {
  const text = seed.toString('utf8');
  if (!text.startsWith(NPZ_SEED)) return seed;
  const doc = JSON.parse(text.slice(NPZ_SEED.length)) as { deflate: boolean; arrays: { name: string; header: string; body: string }[] };
  const a = doc.arrays[m.path % doc.arrays.length];
  let mutated: unknown;
  try {
    mutated = JSON.parse(applyJson(JSON.stringify(headerToJson(a.header)), m));
  } catch {
    mutated = {};
  }
  try {
    a.header = jsonToHeader(mutated);
  } catch {
    a.header = `{'descr': ${'('.repeat(50_000)}`; // too deep to write as a literal: a deep header instead
  }
  return Buffer.from(NPZ_SEED + JSON.stringify(doc), 'utf8');
}

