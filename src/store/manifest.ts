/**
 * manifest.json of a capture directory: what was captured (model, dataset, hooks, dtype, policy),
 * which shard files hold it, and the running sums behind the per-hook statistics.
 *
 * Vocabulary used across src/store: n = rows (kept tokens), d = width of one hook's vector,
 * seq = dataset sequence index, pos = token position inside its sequence.
 *
 * The manifest is the commit record of a capture: a shard exists for readers only once the
 * manifest lists it, and the writer rewrites manifest.json atomically after each shard is renamed
 * into place. Every field is checked on read; a file that fails a check is a FileFormatError
 * naming the file and the field.
 */
import path from 'node:path';
import { FileFormatError, UsageError, describeValue } from '../errors.js';

export const CAPTURE_FORMAT = 'interp.capture';
export const CAPTURE_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** A JSON value, for fields the store records without interpreting (the TokenizerPolicy). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type CaptureDtype = 'f16' | 'f32';
export type LabelType = 'string' | 'number' | 'boolean';

export interface ModelInfo {
  id: string;
  dir: string;
  /** sha256 over config.json and the safetensors headers (src/model). */
  hash: string;
  revision: string | null;
  family: string;
  /** interp captures from raw weights (no fold_ln / centring); recorded so nobody has to guess. */
  weights: 'raw';
}

export interface DatasetInfo {
  /** Provenance only: the store never opens this path. */
  path: string;
  sha256: string;
  /** Number of sequences in the dataset (the capture may stop earlier). */
  sequences: number;
}

export interface HookSpec {
  /** TransformerLens hook name, e.g. blocks.3.hook_resid_post; also the Arrow column name. */
  name: string;
  /** Width d of the hook's vector. */
  d: number;
}

export interface LabelColumn {
  name: string;
  type: LabelType;
}

export interface ShardEntry {
  /** File name inside the capture directory (no directory part). */
  file: string;
  rows: number;
  first_seq: number;
  last_seq: number;
}

/**
 * Running float64 sums over every row written for one hook, kept in the manifest so that a
 * resumed capture ends with exactly the sums of an uninterrupted one (JSON keeps doubles exact).
 */
export interface HookSums {
  count: number;
  /** Σ‖x‖ */
  sum_norm: number;
  /** Σ‖x‖² */
  sum_sq_norm: number;
  /** Σx per dimension, [d] */
  sum: number[];
  /** Σx² per dimension, [d] */
  sum_sq: number[];
}

/** Everything the capture command knows before writing a row. */
export interface CaptureHeader {
  model: ModelInfo;
  dataset: DatasetInfo;
  hooks: HookSpec[];
  dtype: CaptureDtype;
  /** The TokenizerPolicy in force, opaque to the store. */
  policy: JsonValue;
  /** Which positions were kept, e.g. "all" or "last"; opaque except that export needs "all". */
  positions: string;
  /** Context length (tokens per sequence fed to the model). */
  context: number;
  seed: number;
  /** The command line, argv style. */
  command: string[];
  versions: { interp: string; onnxruntime: string; node: string };
  label_columns: LabelColumn[];
}

export interface CaptureManifest extends CaptureHeader {
  format: typeof CAPTURE_FORMAT;
  format_version: number;
  shards: ShardEntry[];
  rows: number;
  sequences_done: number;
  complete: boolean;
  stats: Record<string, HookSums>;
}

/** The fields that must agree for a directory to be resumed rather than refused. */
export const IDENTITY_FIELDS = ['model.hash', 'dataset.sha256', 'hooks', 'dtype', 'positions', 'context', 'policy', 'label_columns'] as const;

export type CaptureIdentity = Pick<CaptureHeader, 'hooks' | 'dtype' | 'positions' | 'context' | 'policy' | 'label_columns'> & {
  model: Pick<ModelInfo, 'hash'>;
  dataset: Pick<DatasetInfo, 'sha256'>;
};

export function identityOf(h: CaptureHeader): CaptureIdentity {
  return {
    model: { hash: h.model.hash },
    dataset: { sha256: h.dataset.sha256 },
    hooks: h.hooks,
    dtype: h.dtype,
    positions: h.positions,
    context: h.context,
    policy: h.policy,
    label_columns: h.label_columns,
  };
}

/** First identity field on which two headers differ, or null when they may share a directory. */
export function identityDifference(a: CaptureHeader, b: CaptureHeader): { field: string; existing: string; requested: string } | null {
  const pick: Record<(typeof IDENTITY_FIELDS)[number], (h: CaptureHeader) => unknown> = {
    'model.hash': (h) => h.model.hash,
    'dataset.sha256': (h) => h.dataset.sha256,
    hooks: (h) => h.hooks.map((x) => ({ name: x.name, d: x.d })),
    dtype: (h) => h.dtype,
    positions: (h) => h.positions,
    context: (h) => h.context,
    policy: (h) => h.policy,
    label_columns: (h) => h.label_columns.map((c) => ({ name: c.name, type: c.type })),
  };
  for (const field of IDENTITY_FIELDS) {
    const x = canonicalJson(pick[field](a));
    const y = canonicalJson(pick[field](b));
    if (x !== y) return { field, existing: x, requested: y };
  }
  return null;
}

/** JSON with object keys sorted, so that key order never makes two equal policies differ. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const obj = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
    }
    return v;
  });
}

export function emptySums(d: number): HookSums {
  return { count: 0, sum_norm: 0, sum_sq_norm: 0, sum: new Array<number>(d).fill(0), sum_sq: new Array<number>(d).fill(0) };
}

export function newManifest(header: CaptureHeader): CaptureManifest {
  validateHeader(header);
  return {
    format: CAPTURE_FORMAT,
    format_version: CAPTURE_FORMAT_VERSION,
    ...structuredClone(header),
    shards: [],
    rows: 0,
    sequences_done: 0,
    complete: false,
    stats: Object.fromEntries(header.hooks.map((h) => [h.name, emptySums(h.d)])),
  };
}

/** Shard file names are plain names: no separators, no `..`, nothing absolute. */
const SAFE_FILE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function isSafeFileName(name: string): boolean {
  return SAFE_FILE.test(name) && name !== '..' && !name.includes('..') && path.basename(name) === name && !path.isAbsolute(name);
}

/** Checks a header passed by the capture command; bad values are the caller's arguments. */
export function validateHeader(h: CaptureHeader): void {
  const fail = (what: string): never => {
    throw new UsageError(`capture header: ${what}`, 'fix the capture arguments (hooks, dtype, labels) and run again');
  };
  try {
    checkHeaderFields(h as unknown as Record<string, unknown>, 'header');
  } catch (err) {
    if (err instanceof ManifestFieldError) fail(err.message);
    throw err;
  }
  if (h.hooks.length === 0) fail('at least one hook is needed');
}

class ManifestFieldError extends Error {}

/** Parses and checks manifest.json text; `file` names the file in every error. */
export function parseManifest(text: string, file: string): CaptureManifest {
  const bad = (what: string, fix = 'the capture directory is damaged: capture again into a new directory'): never => {
    throw new FileFormatError(`${file}: ${what}`, fix);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return bad(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) return bad('expected a JSON object');
  if (raw.format !== CAPTURE_FORMAT) return bad(`format is ${describeValue(raw.format)}, expected "${CAPTURE_FORMAT}" (not an interp capture)`);
  const version = raw.format_version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) return bad(`format_version ${describeValue(version)} is not a positive integer`);
  if (version > CAPTURE_FORMAT_VERSION) {
    return bad(
      `format_version ${version} is newer than this interp reads (${CAPTURE_FORMAT_VERSION})`,
      'upgrade interp (npm install interp@latest) to read this capture',
    );
  }
  try {
    checkHeaderFields(raw, 'manifest');
    checkProgressFields(raw);
  } catch (err) {
    if (err instanceof ManifestFieldError) return bad(err.message);
    throw err;
  }
  return raw as unknown as CaptureManifest;
}

function checkHeaderFields(raw: Record<string, unknown>, _where: string): void {
  const model = obj(raw, 'model');
  for (const k of ['id', 'dir', 'hash', 'family'] as const) str(model, k, `model.${k}`);
  if (model.revision !== null) str(model, 'revision', 'model.revision');
  if (model.weights !== 'raw') fieldError(`model.weights must be "raw", got ${describeValue(model.weights)}`);
  const dataset = obj(raw, 'dataset');
  str(dataset, 'path', 'dataset.path');
  str(dataset, 'sha256', 'dataset.sha256');
  count(dataset, 'sequences', 'dataset.sequences');
  const hooks = arr(raw, 'hooks');
  const names = new Set<string>();
  hooks.forEach((h, i) => {
    if (!isObject(h)) fieldError(`hooks[${i}] is not an object`);
    const name = str(h, 'name', `hooks[${i}].name`);
    if (name.length === 0) fieldError(`hooks[${i}].name is empty`);
    const d = count(h, 'd', `hooks[${i}].d`);
    if (d < 1) fieldError(`hooks[${i}].d must be at least 1`);
    if (names.has(name)) fieldError(`hook ${name} is listed twice`);
    names.add(name);
  });
  if (raw.dtype !== 'f16' && raw.dtype !== 'f32') fieldError(`dtype must be "f16" or "f32", got ${describeValue(raw.dtype)}`);
  if (!('policy' in raw)) fieldError('policy is missing');
  str(raw, 'positions', 'positions');
  if (count(raw, 'context', 'context') < 1) fieldError('context must be at least 1');
  if (typeof raw.seed !== 'number' || !Number.isFinite(raw.seed)) fieldError('seed must be a number');
  const command = arr(raw, 'command');
  if (!command.every((c) => typeof c === 'string')) fieldError('command must be a list of strings');
  const versions = obj(raw, 'versions');
  for (const k of ['interp', 'onnxruntime', 'node'] as const) str(versions, k, `versions.${k}`);
  const reserved = new Set(['seq', 'pos', 'token_id', 'token', ...names]);
  arr(raw, 'label_columns').forEach((c, i) => {
    if (!isObject(c)) fieldError(`label_columns[${i}] is not an object`);
    const name = str(c, 'name', `label_columns[${i}].name`);
    if (reserved.has(name)) fieldError(`label column ${JSON.stringify(name)} clashes with another column`);
    reserved.add(name);
    if (c.type !== 'string' && c.type !== 'number' && c.type !== 'boolean') {
      fieldError(`label_columns[${i}].type must be "string", "number" or "boolean", got ${describeValue(c.type)}`);
    }
  });
}

function checkProgressFields(raw: Record<string, unknown>): void {
  let rows = 0;
  let lastSeq = -1;
  const files = new Set<string>();
  arr(raw, 'shards').forEach((s, i) => {
    if (!isObject(s)) fieldError(`shards[${i}] is not an object`);
    const file = str(s, 'file', `shards[${i}].file`);
    if (!isSafeFileName(file)) fieldError(`shards[${i}].file ${JSON.stringify(file)} is not a plain file name inside the capture directory (refusing a path that escapes it)`);
    if (files.has(file)) fieldError(`shard ${file} is listed twice`);
    files.add(file);
    const n = count(s, 'rows', `shards[${i}].rows`);
    const first = count(s, 'first_seq', `shards[${i}].first_seq`);
    const last = count(s, 'last_seq', `shards[${i}].last_seq`);
    if (n < 1 || last < first || first <= lastSeq) fieldError(`shards[${i}] has rows ${n}, sequences ${first}..${last} out of order`);
    lastSeq = last;
    rows += n;
  });
  if (count(raw, 'rows', 'rows') !== rows) fieldError(`rows is ${describeValue(raw.rows)} but the shards hold ${rows}`);
  const done = count(raw, 'sequences_done', 'sequences_done');
  if (done < lastSeq + 1) fieldError(`sequences_done ${done} is below the last shard's sequence ${lastSeq}`);
  if (typeof raw.complete !== 'boolean') fieldError('complete must be true or false');
  const stats = obj(raw, 'stats');
  for (const h of raw.hooks as HookSpec[]) {
    const s = stats[h.name];
    if (!isObject(s)) fieldError(`stats for hook ${h.name} are missing`);
    if (count(s, 'count', `stats.${h.name}.count`) !== rows) fieldError(`stats.${h.name}.count is not the row count ${rows}`);
    num(s, 'sum_norm', `stats.${h.name}.sum_norm`);
    num(s, 'sum_sq_norm', `stats.${h.name}.sum_sq_norm`);
    for (const k of ['sum', 'sum_sq'] as const) {
      const v = arr(s, k);
      if (v.length !== h.d || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        fieldError(`stats.${h.name}.${k} must hold ${h.d} finite numbers`);
      }
    }
  }
}

function fieldError(message: string): never {
  throw new ManifestFieldError(message);
}
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = o[key];
  if (!isObject(v)) fieldError(`${key} must be an object`);
  return v;
}
function arr(o: Record<string, unknown>, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fieldError(`${key} must be a list`);
  return v;
}
function str(o: Record<string, unknown>, key: string, label: string): string {
  const v = o[key];
  if (typeof v !== 'string') fieldError(`${label} must be a string`);
  return v;
}
function num(o: Record<string, unknown>, key: string, label: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fieldError(`${label} must be a finite number`);
  return v;
}
function count(o: Record<string, unknown>, key: string, label: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fieldError(`${label} must be a non-negative integer`);
  return v;
}
