/**
 * Reading a capture directory with bounded memory.
 *
 * openCapture checks everything before any row is read: manifest fields and version, and for
 * every listed shard that the file exists, is an Arrow IPC file whose schema is the capture's,
 * and holds the rows and sequences the manifest says. Reads are positioned reads of just the
 * buffers asked for (ipc-index.ts): streaming one hook of a twelve-hook capture reads one
 * twelfth of the bytes, and memory is one output batch plus one record batch's small columns.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileFormatError, UnknownHookError, UsageError } from '../errors.js';
import { expandHookName } from '../hooks.js';
import { shardDictionaries, type LabelValue } from './columns.js';
import { widenF16 } from './f16.js';
import { indexIpcFile, readAt, type IpcFileIndex, type NodeLoc } from './ipc-index.js';
import { MANIFEST_FILE, parseManifest, type CaptureManifest, type HookSpec, type LabelColumn, type ShardEntry } from './manifest.js';
import { shuffledBatches, type ShuffleOptions, type ShuffledRows } from './shuffle.js';
import { deriveStats, type HookStats } from './stats.js';

/** n rows in capture order. */
export interface CaptureRows {
  /** Rows n in this batch. */
  rows: number;
  /** Global index of the first row (rows are consecutive). */
  start: number;
  /** [n] */
  seq: Int32Array;
  /** [n] */
  pos: Int32Array;
  /** [n] */
  tokenId: Int32Array;
  /** [n] token text; empty when `columns` left "token" out. */
  token: string[];
  /** Per requested label column, [n] values (null where missing). */
  labels: Record<string, LabelValue[]>;
  /** Per requested hook, [n, d] fp32 (f16 captures are widened exactly). */
  hooks: Record<string, Float32Array>;
}

export interface BatchOptions {
  /** Hooks to read; default all. Pass [] to read none. */
  hooks?: readonly string[];
  /** Rows per yielded batch (the last one may be shorter). */
  batchRows: number;
  /** Which of "token" and the label columns to decode; default all. seq, pos, token_id always come. */
  columns?: readonly string[];
}

/** A label column for all rows, typed by its declared type. */
export type LabelArray =
  | { type: 'string'; values: (string | null)[] }
  | { type: 'number'; values: (number | null)[] }
  | { type: 'boolean'; values: (boolean | null)[] };

/** A shard as the reader sees it: manifest entry, buffer index, global row offset. */
export interface ShardView {
  entry: ShardEntry;
  path: string;
  index: IpcFileIndex;
  /** Global index of the shard's first row. */
  firstRow: number;
  /** Global index of each record batch's first row. */
  batchStarts: number[];
}

/** Field positions in a shard: seq, pos, token_id, token, labels..., hooks... */
const SEQ = 0;
const POS = 1;
const TOKEN_ID = 2;
const TOKEN = 3;

export class Capture {
  private fds = new Map<string, number>();
  private dictCache: { shard: ShardView; id: number; strings: string[] } | null = null;

  private constructor(
    readonly dir: string,
    readonly manifest: Readonly<CaptureManifest>,
    readonly shards: readonly ShardView[],
  ) {}

  /** @internal use openCapture */
  static open(dir: string): Capture {
    const manifestFile = path.join(dir, MANIFEST_FILE);
    let text: string;
    try {
      text = fs.readFileSync(manifestFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new FileFormatError(
        `${manifestFile}: ${code === 'ENOENT' ? 'missing' : `cannot read (${code ?? String(err)})`}; ${dir} is not a capture directory`,
        'pass the directory that `interp capture --out` wrote',
      );
    }
    const m = parseManifest(text, manifestFile);
    const expected = shardDictionaries([], m.hooks, m.label_columns, m.dtype, new Map()).schema;
    const shards: ShardView[] = [];
    let firstRow = 0;
    for (const entry of m.shards) {
      const file = path.join(dir, entry.file);
      if (!fs.existsSync(file)) throw new FileFormatError(`${file}: shard listed in ${manifestFile} is missing`, 'the capture is damaged: capture again (or restore the file)');
      // The manifest names plain files (parseManifest); a shard must also not be a link leading out.
      const real = fs.realpathSync(file);
      const inside = path.relative(fs.realpathSync(dir), real);
      if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
        throw new FileFormatError(`${file}: shard listed in ${manifestFile} is a link to ${real}, outside the capture directory`, 'copy the shard into the capture directory (captures never link to files elsewhere), or capture again');
      }
      const index = indexIpcFile(file);
      const got = index.schema.fields;
      const want = expected.fields;
      const mismatch = want.findIndex((f, i) => !got[i] || got[i].name !== f.name || String(got[i].type) !== String(f.type));
      if (got.length !== want.length || mismatch >= 0) {
        const i = mismatch >= 0 ? mismatch : Math.min(got.length, want.length);
        throw new FileFormatError(
          `${file}: schema disagrees with ${manifestFile} at column ${i}: expected ${want[i] ? `${want[i].name}: ${String(want[i].type)}` : 'no column'}, found ${got[i] ? `${got[i].name}: ${String(got[i].type)}` : 'no column'}`,
          'the shard does not belong to this capture: capture again',
        );
      }
      if (index.rows !== entry.rows) throw new FileFormatError(`${file}: holds ${index.rows} rows, ${manifestFile} says ${entry.rows}`, 'the capture is damaged: capture again');
      const batchStarts: number[] = [];
      let at = firstRow;
      for (const b of index.batches) {
        batchStarts.push(at);
        at += b.rows;
      }
      shards.push({ entry, path: file, index, firstRow, batchStarts });
      firstRow += entry.rows;
    }
    const capture = new Capture(dir, m, shards);
    for (const s of shards) capture.checkSeqRange(s);
    return capture;
  }

  get hooks(): readonly HookSpec[] {
    return this.manifest.hooks;
  }
  get labelColumns(): readonly LabelColumn[] {
    return this.manifest.label_columns;
  }
  /** Rows in committed shards. */
  get rows(): number {
    return this.manifest.rows;
  }

  /** Statistics of `hook` over every row (exact float64 sums from the manifest). */
  stats(hook: string): HookStats {
    this.hookIndex(hook);
    return deriveStats(this.manifest.stats[hook]);
  }

  /** Streams rows in capture order, shard by shard, `batchRows` at a time. */
  *batches(options: BatchOptions): Generator<CaptureRows> {
    const hooks = (options.hooks ?? this.hooks.map((h) => h.name)).map((h) => this.hookIndex(h));
    const batchRows = positive(options.batchRows, 'batchRows');
    const wanted = new Set(options.columns ?? ['token', ...this.labelColumns.map((c) => c.name)]);
    for (const c of wanted) {
      if (c !== 'token' && !this.labelColumns.some((l) => l.name === c)) {
        throw new UsageError(`${this.dir}: no column ${c} (columns: token, ${this.labelColumns.map((l) => l.name).join(', ') || 'no labels'})`, 'ask for "token" or a label column of this capture');
      }
    }
    const labels = this.labelColumns.map((c, j) => ({ c, j })).filter(({ c }) => wanted.has(c.name));
    let out = this.emptyRows(Math.min(batchRows, this.rows), 0, hooks, labels.map((l) => l.c.name));
    let filled = 0;
    for (const shard of this.shards) {
      for (let b = 0; b < shard.index.batches.length; b++) {
        const batch = shard.index.batches[b];
        const cols = batch.columns;
        const token = wanted.has('token') ? this.decodeStrings(shard, TOKEN, cols[TOKEN], batch.rows) : null;
        const labelValues = labels.map(({ c, j }) => this.decodeLabel(shard, c, TOKEN + 1 + j, cols[TOKEN + 1 + j], batch.rows));
        let at = 0;
        while (at < batch.rows) {
          const take = Math.min(batch.rows - at, out.rows - filled);
          this.readInt32(shard, cols[SEQ][0], at, take, out.seq, filled);
          this.readInt32(shard, cols[POS][0], at, take, out.pos, filled);
          this.readInt32(shard, cols[TOKEN_ID][0], at, take, out.tokenId, filled);
          if (token) for (let i = 0; i < take; i++) out.token.push(token[at + i] ?? '');
          labels.forEach(({ c }, k) => {
            const dst = out.labels[c.name];
            for (let i = 0; i < take; i++) dst.push(labelValues[k][at + i]);
          });
          for (const k of hooks) this.readHookRows(shard, cols[this.hookField(k)][1], this.hooks[k].d, at, take, out.hooks[this.hooks[k].name], filled);
          at += take;
          filled += take;
          if (filled === out.rows) {
            yield out;
            const next = out.start + out.rows;
            out = this.emptyRows(Math.min(batchRows, this.rows - next), next, hooks, labels.map((l) => l.c.name));
            filled = 0;
          }
        }
      }
    }
  }

  /**
   * Random batches through a uniform permutation of all rows (each row exactly once per call),
   * deterministic per seed; see shuffle.ts for how memory stays bounded.
   */
  shuffledBatches(options: ShuffleOptions): Generator<ShuffledRows> {
    return shuffledBatches(this, options);
  }

  /** One label column for every row (labels are small: one value per token). */
  labels(name: string): LabelArray {
    const col = this.labelColumns.find((c) => c.name === name);
    if (!col) throw new UsageError(`${this.dir}: no label column ${name} (labels: ${this.labelColumns.map((c) => c.name).join(', ') || 'none'})`, 'pick a label column listed in manifest.json');
    const values: LabelValue[] = [];
    for (const b of this.batches({ hooks: [], batchRows: 1 << 16, columns: [name] })) for (const v of b.labels[name]) values.push(v);
    return { type: col.type, values } as LabelArray;
  }

  /** Closes the shard files this reader opened. */
  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
    this.dictCache = null;
  }

  /** Position of `hook` in the manifest's hook list; UsageError naming the hooks if absent. */
  hookIndex(hook: string): number {
    const name = this.hook(hook);
    return this.hooks.findIndex((h) => h.name === name);
  }

  /**
   * The full name of a captured hook from its full or short name (TransformerLens' get_act_name
   * forms, `resid_post.3`), resolved through the one hook table (src/hooks.ts). A hook the capture
   * lacks is an UnknownHookError listing what it has.
   */
  hook(name: string): string {
    if (this.hooks.some((h) => h.name === name)) return name;
    const full = expandHookName(name);
    if (full !== null && this.hooks.some((h) => h.name === full)) return full;
    throw new UnknownHookError(`${this.dir}: no hook ${name} in this capture (hooks: ${this.hooks.map((h) => h.name).join(', ')})`, 'pick a hook listed in manifest.json, or capture that hook');
  }

  /** Field position of hook k in a shard. */
  hookField(k: number): number {
    return TOKEN + 1 + this.labelColumns.length + k;
  }

  fd(shard: ShardView): number {
    let fd = this.fds.get(shard.path);
    if (fd === undefined) {
      try {
        fd = fs.openSync(shard.path, 'r');
      } catch (err) {
        throw new FileFormatError(`${shard.path}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'the capture changed while it was read: open it again');
      }
      this.fds.set(shard.path, fd);
    }
    return fd;
  }

  /** Reads rows [at, at+n) of hook leaf `node` (d values per row) into `out` from row `outRow`, widening f16. */
  readHookRows(shard: ShardView, node: NodeLoc, d: number, at: number, n: number, out: Float32Array, outRow: number, f16Scratch?: Uint16Array): void {
    if (n === 0) return;
    const data = node.buffers[1];
    if (this.manifest.dtype === 'f32') {
      const bytes = new Uint8Array(out.buffer, out.byteOffset + outRow * d * 4, n * d * 4);
      readAt(this.fd(shard), data.offset + at * d * 4, n * d * 4, bytes, shard.path);
    } else {
      const bits = f16Scratch && f16Scratch.length >= n * d ? f16Scratch.subarray(0, n * d) : new Uint16Array(n * d);
      readAt(this.fd(shard), data.offset + at * d * 2, n * d * 2, new Uint8Array(bits.buffer, bits.byteOffset, n * d * 2), shard.path);
      widenF16(bits, out.subarray(outRow * d, (outRow + n) * d));
    }
  }

  private readInt32(shard: ShardView, node: NodeLoc, at: number, n: number, out: Int32Array, outRow: number): void {
    if (n === 0) return;
    const bytes = new Uint8Array(out.buffer, out.byteOffset + outRow * 4, n * 4);
    readAt(this.fd(shard), node.buffers[1].offset + at * 4, n * 4, bytes, shard.path);
  }

  private emptyRows(n: number, start: number, hooks: readonly number[], labels: readonly string[]): CaptureRows {
    return {
      rows: n,
      start,
      seq: new Int32Array(n),
      pos: new Int32Array(n),
      tokenId: new Int32Array(n),
      token: [],
      labels: Object.fromEntries(labels.map((l) => [l, []])),
      hooks: Object.fromEntries(hooks.map((k) => [this.hooks[k].name, new Float32Array(n * this.hooks[k].d)])),
    };
  }

  /** Validity of rows [0, n) of `node`: null when it has no nulls. */
  private validity(shard: ShardView, node: NodeLoc, n: number): Uint8Array | null {
    if (node.nullCount === 0 || node.buffers[0].length === 0) return null;
    return readAt(this.fd(shard), node.buffers[0].offset, Math.min(node.buffers[0].length, (n + 7) >> 3), undefined, shard.path);
  }

  /** A dictionary-encoded utf8 column's values for rows [0, n) of a record batch. */
  private decodeStrings(shard: ShardView, fieldIndex: number, nodes: NodeLoc[], n: number): (string | null)[] {
    const field = shard.index.schema.fields[fieldIndex];
    const id = (field.type as { id?: number }).id ?? -1;
    const dict = this.dictionary(shard, id, field.name);
    const indices = new Int32Array(n);
    readAt(this.fd(shard), nodes[0].buffers[1].offset, n * 4, new Uint8Array(indices.buffer), shard.path);
    const valid = this.validity(shard, nodes[0], n);
    const out = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      if (valid && !(valid[i >> 3] & (1 << (i & 7)))) out[i] = null;
      else {
        const s = dict[indices[i]];
        if (s === undefined) throw new FileFormatError(`${shard.path}: dictionary index ${indices[i]} out of range`, 'the shard is damaged: capture again');
        out[i] = s;
      }
    }
    return out;
  }

  private decodeLabel(shard: ShardView, c: LabelColumn, fieldIndex: number, nodes: NodeLoc[], n: number): LabelValue[] {
    if (c.type === 'string') return this.decodeStrings(shard, fieldIndex, nodes, n);
    const node = nodes[0];
    const valid = this.validity(shard, node, n);
    const isValid = (i: number) => !valid || (valid[i >> 3] & (1 << (i & 7))) !== 0;
    const out = new Array<LabelValue>(n);
    if (c.type === 'number') {
      const v = new Float64Array(n);
      readAt(this.fd(shard), node.buffers[1].offset, n * 8, new Uint8Array(v.buffer), shard.path);
      for (let i = 0; i < n; i++) out[i] = isValid(i) ? v[i] : null;
    } else {
      const bits = readAt(this.fd(shard), node.buffers[1].offset, (n + 7) >> 3, undefined, shard.path);
      for (let i = 0; i < n; i++) out[i] = isValid(i) ? (bits[i >> 3] & (1 << (i & 7))) !== 0 : null;
    }
    return out;
  }

  /** Decoded strings of dictionary `id` in `shard` (one shard's dictionary cached at a time). */
  private dictionary(shard: ShardView, id: number, column: string): string[] {
    if (this.dictCache && this.dictCache.shard === shard && this.dictCache.id === id) return this.dictCache.strings;
    const nodes = shard.index.dictionaries.get(id);
    if (!nodes) throw new FileFormatError(`${shard.path}: column ${column} has no dictionary`, 'the shard is damaged: capture again');
    const [node] = nodes;
    const fd = this.fd(shard);
    const offsets = new Int32Array(node.length + 1);
    readAt(fd, node.buffers[1].offset, offsets.byteLength, new Uint8Array(offsets.buffer), shard.path);
    const bytes = readAt(fd, node.buffers[2].offset, node.buffers[2].length, undefined, shard.path);
    const dec = new TextDecoder();
    const strings: string[] = [];
    for (let i = 0; i < node.length; i++) strings.push(dec.decode(bytes.subarray(offsets[i], offsets[i + 1])));
    this.dictCache = { shard, id, strings };
    return strings;
  }

  /** The manifest's first_seq / last_seq must be the shard's first and last rows' seq. */
  private checkSeqRange(shard: ShardView): void {
    const { batches } = shard.index;
    const first = new Int32Array(1);
    const last = new Int32Array(1);
    const lb = batches[batches.length - 1];
    if (!lb) throw new FileFormatError(`${shard.path}: holds no record batches`, 'the capture is damaged: capture again');
    this.readInt32(shard, batches[0].columns[SEQ][0], 0, 1, first, 0);
    this.readInt32(shard, lb.columns[SEQ][0], lb.rows - 1, 1, last, 0);
    if (first[0] !== shard.entry.first_seq || last[0] !== shard.entry.last_seq) {
      throw new FileFormatError(
        `${shard.path}: holds sequences ${first[0]}..${last[0]}, manifest.json says ${shard.entry.first_seq}..${shard.entry.last_seq}`,
        'the shard does not belong here (renamed or copied from another capture): capture again',
      );
    }
  }
}

/** Opens a capture directory, checking manifest and shards (FileFormatError naming the file). */
export function openCapture(dir: string): Capture {
  return Capture.open(dir);
}

function positive(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new UsageError(`${name} must be a positive integer, got ${v}`, `pass ${name} ≥ 1`);
  return v;
}
