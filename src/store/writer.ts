/**
 * CaptureWriter: appends whole sequences of captured activations to a capture directory.
 *
 * Commit protocol, so that a kill -9 at any moment leaves a store that a reader accepts and the
 * writer resumes: rows are buffered in memory until a shard is due; the shard is written as an
 * Arrow IPC file under `shard-NNNNN.arrow.tmp`, fsynced, renamed to `shard-NNNNN.arrow`, and only
 * then is manifest.json rewritten atomically (temporary file, fsync, rename) listing it. On open,
 * files the manifest does not list (temporary shards, an orphan shard renamed just before the kill,
 * stale permutation caches) are deleted.
 *
 * A write that fails (a full disk, a read-only directory) leaves the store at its last commit: the
 * temporary file is removed, a shard whose manifest could not be written is removed again, and the
 * error (a StoreWriteError naming the file, with the fix) says that running the capture again
 * resumes it. The writer refuses further appends after such a failure: the rows it held are gone.
 *
 * Shard boundaries depend only on the row stream, never on how it was split into append calls:
 * a shard closes at the first sequence boundary where at least `shardRows` rows are buffered.
 * A resumed capture therefore writes the same shards, and ends with the same float64 statistic
 * sums, as an uninterrupted one.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { syncDir, writeAll, writeDurably } from '../util/atomic-write.js';
import { RecordBatchFileWriter } from 'apache-arrow';
import { FdSink } from './fd-sink.js';
import { EnvironmentError, FileFormatError, InterpError, ShapeMismatchError, UsageError } from '../errors.js';
import { concatBlocks, shardDictionaries, sliceBlock, toRecordBatch, type LabelValue, type RowBlock } from './columns.js';
import { firstNonFinite, toF16BitsChecked } from './f16.js';
import {
  MANIFEST_FILE,
  identityDifference,
  newManifest,
  parseManifest,
  type CaptureHeader,
  type CaptureManifest,
  type HookSums,
} from './manifest.js';
import { SumsAccumulator, mergeSums, statsJson } from './stats.js';

/** Rows of whole sequences, as the capture command produces them for one model batch. */
export interface CaptureBatch {
  /** [n] dataset sequence index per row; a sequence's rows are contiguous, sequences ascend. */
  seq: Int32Array;
  /** [n] token position inside its sequence. */
  pos: Int32Array;
  /** [n] token id. */
  tokenId: Int32Array;
  /** [n] decoded token text. */
  token: readonly string[];
  /** Per label column (all of the header's label_columns): [n] values, null where missing. */
  labels?: Readonly<Record<string, readonly LabelValue[]>>;
  /** Per hook (all of the header's hooks): [n, d] row-major fp32 activations. */
  hooks: Readonly<Record<string, Float32Array>>;
}

export interface CaptureWriterOptions {
  /** Close a shard at the first sequence boundary with at least this many rows buffered. Default: ~128 MiB of activations. */
  shardRows?: number;
  /** Rows per Arrow record batch inside a shard (bounds reader memory). Default: ~16 MiB of activations. */
  recordBatchRows?: number;
}

/** Where a capture stands after open: the capture command skips what is already written. */
export interface ResumePoint {
  /** True when the directory held a manifest (a resumed capture). */
  resumed: boolean;
  /** Dataset sequences [0, sequencesDone) are written; continue with sequence `sequencesDone`. */
  sequencesDone: number;
  /** Rows already written. */
  rowsDone: number;
  /** Shards already written. */
  shards: number;
  /** The capture was finished; nothing more may be appended. */
  complete: boolean;
}

/** An activation that is NaN or ±Inf (or overflows float16): the capture stops and says where. */
export class NonFiniteActivationError extends InterpError {
  constructor(
    readonly hook: string,
    readonly seq: number,
    readonly pos: number,
    detail: string,
    fix: string,
  ) {
    super(`hook ${hook}: ${detail} at sequence ${seq}, position ${pos}; nothing was written for this batch`, fix);
  }
}

/** A shard or manifest.json that could not be written; the store is left at its last commit. */
export class StoreWriteError extends EnvironmentError {
  constructor(
    readonly file: string,
    /** The system error code (ENOSPC, EACCES …), or the error's text when it has none. */
    readonly code: string,
    what: string,
  ) {
    const full = code === 'ENOSPC' || code === 'EDQUOT';
    super(
      `${file}: cannot write the ${what}: ${IO_PROBLEMS[code] ?? 'write failed'} (${code})`,
      `${full ? 'free space on that disk' : 'make the directory writable'} (or move the capture directory to another disk), then run the same capture command again: it resumes after the last complete shard`,
    );
  }
}

const IO_PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
};

const SHARD_NAME = /^shard-(\d{5,})\.arrow$/;
const OWN_TEMP = /^(shard-\d{5,}\.arrow\.tmp|\.manifest\.json\..*\.tmp|\.permutation-.*\.tmp|permutation-.*\.bin)$/;

export class CaptureWriter {
  private pending: RowBlock[] = [];
  private pendingRows = 0;
  /** Smallest sequence index the next append may start with. */
  private nextSeq: number;
  private finished: boolean;
  /** The write that failed, after which nothing more may be appended. */
  private failure: StoreWriteError | null = null;

  private constructor(
    readonly dir: string,
    /** The committed manifest; replaced (never edited) once a new one is on disk. */
    private m: CaptureManifest,
    readonly resume: ResumePoint,
    private readonly shardRows: number,
    private readonly recordBatchRows: number,
  ) {
    this.nextSeq = m.sequences_done;
    this.finished = m.complete;
  }

  /**
   * Creates `dir` (or uses an empty one) for a new capture, or resumes the capture in it when its
   * manifest has the same identity (model hash, dataset sha256, hooks, dtype, positions, context,
   * policy, label columns). A different identity is refused, never overwritten.
   */
  static open(dir: string, header: CaptureHeader, options: CaptureWriterOptions = {}): CaptureWriter {
    const fresh = newManifest(header); // validates the header
    const rowBytes = header.hooks.reduce((s, h) => s + h.d * (header.dtype === 'f16' ? 2 : 4), 0);
    const shardRows = positiveInt(options.shardRows, Math.max(1, Math.floor((128 << 20) / rowBytes)), 'shardRows');
    const recordBatchRows = positiveInt(options.recordBatchRows, Math.max(1, Math.floor((16 << 20) / rowBytes)), 'recordBatchRows');
    const manifestFile = path.join(dir, MANIFEST_FILE);
    let m: CaptureManifest;
    let resumed = false;
    if (fs.existsSync(manifestFile)) {
      m = parseManifest(readText(manifestFile), manifestFile);
      const diff = identityDifference(m, header);
      if (diff) {
        throw new UsageError(
          `${dir}: holds a capture whose ${diff.field} differs (existing ${clip(diff.existing)}, requested ${clip(diff.requested)}); refusing to overwrite it`,
          'choose another output directory, or delete this one to capture again from the start',
        );
      }
      for (const s of m.shards) {
        if (!fs.existsSync(path.join(dir, s.file))) {
          throw new FileFormatError(`${path.join(dir, s.file)}: shard listed in ${manifestFile} is missing`, 'the capture is damaged: delete the directory and capture again');
        }
      }
      removeUnlisted(dir, new Set(m.shards.map((s) => s.file)));
      resumed = true;
    } else {
      if (fs.existsSync(dir)) {
        const stray = fs.readdirSync(dir).filter((f) => !OWN_TEMP.test(f) && !SHARD_NAME.test(f));
        if (stray.length > 0) {
          throw new UsageError(`${dir}: not empty and has no ${MANIFEST_FILE} (found ${stray.slice(0, 3).join(', ')}); refusing to overwrite it`, 'choose a new or empty output directory');
        }
        removeUnlisted(dir, new Set());
      } else {
        fs.mkdirSync(dir, { recursive: true });
      }
      m = fresh;
      writeManifest(dir, m);
    }
    const resume: ResumePoint = { resumed, sequencesDone: m.sequences_done, rowsDone: m.rows, shards: m.shards.length, complete: m.complete };
    return new CaptureWriter(dir, m, resume, shardRows, recordBatchRows);
  }

  /** The manifest as last committed (shards on disk), not counting buffered rows. */
  get manifest(): Readonly<CaptureManifest> {
    return this.m;
  }

  /** Rows appended but not yet in a committed shard. */
  get bufferedRows(): number {
    return this.pendingRows;
  }

  /**
   * Appends whole sequences. Checks everything before buffering: a batch that fails a check
   * (shape, order, NaN/Inf) leaves the writer as it was. Writes a shard when one is due.
   */
  append(batch: CaptureBatch): void {
    this.checkUsable();
    const block = this.toBlock(batch);
    if (block.n === 0) return;
    this.pending.push(block);
    this.pendingRows += block.n;
    this.nextSeq = block.seq[block.n - 1] + 1;
    while (this.pendingRows >= this.shardRows) {
      const cut = this.shardCut();
      if (cut === null) break;
      this.flush(cut);
    }
  }

  /**
   * Writes the buffered rows as the last shard and marks the capture complete.
   * `sequencesDone` records how many dataset sequences were processed when trailing ones kept no rows.
   */
  finish(options: { sequencesDone?: number } = {}): Readonly<CaptureManifest> {
    if (this.finished) return this.m;
    this.checkUsable();
    if (this.pendingRows > 0) this.flush(this.pendingRows);
    const next = structuredClone(this.m);
    next.sequences_done = Math.max(next.sequences_done, options.sequencesDone ?? 0);
    next.complete = true;
    this.commit(next);
    this.finished = true;
    return this.m;
  }

  private checkUsable(): void {
    if (this.failure) throw new UsageError(`${this.dir}: an earlier write failed (${this.failure.code}), so this writer lost the rows it held`, 'open the capture again to resume after its last complete shard');
    if (this.finished) throw new UsageError(`${this.dir}: the capture is complete; nothing more can be appended`, 'capture into a new directory');
  }

  /** Writes `next` as manifest.json and makes it the committed manifest; `shard` is removed again if that fails. */
  private commit(next: CaptureManifest, shard?: string): void {
    try {
      writeManifest(this.dir, next);
    } catch (err) {
      if (shard) {
        fs.rmSync(shard, { force: true });
        syncDir(this.dir);
      }
      throw this.failed(err);
    }
    this.m = next;
  }

  /** Records a failed write (the writer is unusable after it) and returns the error to throw. */
  private failed(err: unknown): unknown {
    if (err instanceof StoreWriteError) this.failure = err;
    return err;
  }

  /** Validates a batch and converts it to a RowBlock of stored values (copies: callers may reuse buffers). */
  private toBlock(b: CaptureBatch): RowBlock {
    const { hooks, label_columns: labelCols, dtype } = this.m;
    const n = b.seq.length;
    const shape = (what: string, expected: number, got: number): never => {
      throw new ShapeMismatchError(`capture batch: ${what} has ${got} values, expected ${expected}`, 'pass one value per row (and n·d activations per hook)');
    };
    if (b.pos.length !== n) shape('pos', n, b.pos.length);
    if (b.tokenId.length !== n) shape('tokenId', n, b.tokenId.length);
    if (b.token.length !== n) shape('token', n, b.token.length);
    for (const name of Object.keys(b.hooks)) {
      if (!hooks.some((h) => h.name === name)) throw new UsageError(`capture batch: hook ${name} is not in this capture (${hooks.map((h) => h.name).join(', ')})`, 'pass exactly the hooks named when the capture was opened');
    }
    for (const name of Object.keys(b.labels ?? {})) {
      if (!labelCols.some((c) => c.name === name)) throw new UsageError(`capture batch: label column ${name} is not in this capture`, 'declare it in label_columns when opening the capture');
    }
    for (let i = 0; i < n; i++) {
      const prev = i === 0 ? this.nextSeq : b.seq[i - 1];
      if (i === 0 ? b.seq[0] < prev : b.seq[i] < prev) {
        throw new UsageError(`capture batch: row ${i} has sequence ${b.seq[i]} after ${i === 0 ? `the written sequences (next is ${prev})` : `sequence ${prev}`}`, 'append whole sequences in ascending order, each exactly once');
      }
    }
    const labels = labelCols.map((c) => {
      const values = b.labels?.[c.name];
      if (!values) return new Array<LabelValue>(n).fill(null);
      if (values.length !== n) shape(`label ${c.name}`, n, values.length);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null && typeof v !== c.type) throw new UsageError(`capture batch: label ${c.name} row ${i} is ${JSON.stringify(v)}, expected a ${c.type} or null`, 'make the dataset field hold one type');
        if (typeof v === 'number' && !Number.isFinite(v)) throw new UsageError(`capture batch: label ${c.name} row ${i} is ${v}`, 'use null for a missing numeric label');
      }
      return values.slice();
    });
    const stored = hooks.map((h) => {
      const x = b.hooks[h.name];
      if (!x) throw new UsageError(`capture batch: hook ${h.name} is missing`, 'pass every hook named when the capture was opened');
      if (x.length !== n * h.d) shape(`hook ${h.name}`, n * h.d, x.length);
      // f16: one pass converts and finds what is stored as ±Inf/NaN (NaN, Inf, or overflow).
      const bits = dtype === 'f16' ? new Uint16Array(x.length) : null;
      const bad = bits ? toF16BitsChecked(x, bits) : firstNonFinite(x);
      if (bad >= 0) {
        const r = Math.floor(bad / h.d);
        const finite = Number.isFinite(x[bad]);
        throw new NonFiniteActivationError(
          h.name,
          b.seq[r],
          b.pos[r],
          `activation ${x[bad]} (dimension ${bad % h.d})${finite ? ' overflows float16 (|x| > 65504)' : ''}`,
          finite ? 'capture with --dtype f32' : 'check the model weights and inputs (the runtime produced a non-finite value)',
        );
      }
      if (!bits) return x.slice();
      return bits;
    });
    return { n, seq: b.seq.slice(), pos: b.pos.slice(), tokenId: b.tokenId.slice(), token: b.token.slice(), labels, hooks: stored };
  }

  /** Rows in the next shard: through the end of the sequence holding row shardRows-1; null if not yet whole. */
  private shardCut(): number | null {
    let seen = 0;
    for (let k = 0; k < this.pending.length; k++) {
      const blk = this.pending[k];
      if (seen + blk.n < this.shardRows) {
        seen += blk.n;
        continue;
      }
      let r = this.shardRows - seen - 1; // row inside blk that reaches shardRows
      const s = blk.seq[r];
      while (r + 1 < blk.n && blk.seq[r + 1] === s) r++;
      // Appends hold whole sequences, so a block's end is always a sequence boundary.
      return seen + r + 1;
    }
    return null;
  }

  /** Writes the first `rows` buffered rows as one shard and commits it in the manifest. */
  private flush(rows: number): void {
    const { hooks, label_columns: labelCols, dtype } = this.m;
    const parts: RowBlock[] = [];
    let need = rows;
    while (need > 0) {
      const blk = this.pending[0];
      if (blk.n <= need) {
        parts.push(blk);
        this.pending.shift();
        need -= blk.n;
      } else {
        parts.push(sliceBlock(blk, 0, need, hooks));
        this.pending[0] = sliceBlock(blk, need, blk.n, hooks);
        need = 0;
      }
    }
    this.pendingRows -= rows;

    const sums: Record<string, HookSums> = {};
    hooks.forEach((h, k) => {
      // One accumulator across the shard's parts: the sums depend on the rows, not on the appends.
      const acc = new SumsAccumulator(h.d);
      for (const p of parts) acc.add(p.hooks[k], h.d);
      sums[h.name] = acc.toSums();
    });
    const metadata = new Map<string, string>([
      ['model', JSON.stringify(this.m.model)],
      ['hooks', JSON.stringify(hooks)],
      ['dtype', dtype],
      ['policy', JSON.stringify(this.m.policy)],
      ['positions', this.m.positions],
      // Statistics of this shard's rows; the capture-wide ones are in manifest.json.
      ['stats', JSON.stringify(Object.fromEntries(hooks.map((h) => [h.name, statsJson(sums[h.name])])))],
    ]);
    const shard = shardDictionaries(parts, hooks, labelCols, dtype, metadata);
    const index = this.m.shards.length;
    const file = `shard-${String(index).padStart(5, '0')}.arrow`;
    try {
      writeShardFile(path.join(this.dir, file), parts, (blk) => toRecordBatch(blk, shard, hooks, labelCols, dtype), this.recordBatchRows, hooks, dtype);
    } catch (err) {
      throw this.failed(err);
    }

    const firstSeq = parts[0].seq[0];
    const last = parts[parts.length - 1];
    const lastSeq = last.seq[last.n - 1];
    const next = structuredClone(this.m);
    next.shards.push({ file, rows, first_seq: firstSeq, last_seq: lastSeq });
    next.rows += rows;
    next.sequences_done = Math.max(next.sequences_done, lastSeq + 1);
    for (const h of hooks) mergeSums(next.stats[h.name], sums[h.name]);
    this.commit(next, path.join(this.dir, file));
  }
}


/**
 * Writes one shard: Arrow IPC file to `<file>.tmp`, fsync, rename. Record batches hold at most
 * `batchRows` rows, cut across the buffered blocks (small blocks are merged, large ones split).
 */
function writeShardFile(
  file: string,
  blocks: readonly RowBlock[],
  toBatch: (b: RowBlock) => ReturnType<typeof toRecordBatch>,
  batchRows: number,
  hooks: CaptureManifest['hooks'],
  dtype: CaptureManifest['dtype'],
): void {
  writeStoreFile(file, `${file}.tmp`, 'shard', (fd) => {
    const writer = new RecordBatchFileWriter();
    writer.reset(new FdSink(fd));
    let group: RowBlock[] = [];
    let groupRows = 0;
    const emit = () => {
      if (groupRows > 0) writer.write(toBatch(concatBlocks(group, hooks, dtype)));
      group = [];
      groupRows = 0;
    };
    for (const blk of blocks) {
      let at = 0;
      while (at < blk.n) {
        const take = Math.min(blk.n - at, batchRows - groupRows);
        group.push(at === 0 && take === blk.n ? blk : sliceBlock(blk, at, at + take, hooks));
        groupRows += take;
        at += take;
        if (groupRows === batchRows) emit();
      }
    }
    emit();
    writer.close();
  });
}

/** manifest.json through `.manifest.json.<pid>.<random>.tmp`, a name open() clears as OWN_TEMP. */
function writeManifest(dir: string, m: CaptureManifest): void {
  const bytes = new TextEncoder().encode(`${JSON.stringify(m, null, 1)}\n`);
  const tmp = path.join(dir, `.${MANIFEST_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeStoreFile(path.join(dir, MANIFEST_FILE), tmp, 'manifest', (fd) => writeAll(fd, bytes));
}

/** writeDurably with the store's error: a StoreWriteError naming `file` (InterpErrors from `fill` pass through unchanged). */
function writeStoreFile(file: string, tmp: string, what: string, fill: (fd: number) => void): void {
  try {
    writeDurably(file, fill, tmp);
  } catch (err) {
    if (err instanceof InterpError) throw err;
    throw new StoreWriteError(file, (err as NodeJS.ErrnoException).code ?? String(err), what);
  }
}

/** Deletes shard files, temporaries and permutation caches that `keep` does not list. */
function removeUnlisted(dir: string, keep: ReadonlySet<string>): void {
  for (const f of fs.readdirSync(dir)) {
    if (keep.has(f)) continue;
    if (SHARD_NAME.test(f) || OWN_TEMP.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileFormatError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'check the path and permissions');
  }
}

function positiveInt(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new UsageError(`capture writer: ${name} must be a positive integer, got ${v}`, `pass ${name} ≥ 1`);
  return v;
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
