/**
 * Export of one hook of a capture in the layout Hugging Face `datasets.save_to_disk` writes and
 * SAELens' cached-activation loader reads (FORMATS.md, "Cached activations that SAELens reads"):
 *
 *   OUT/dataset_info.json, OUT/state.json, OUT/data-0000i-of-0000N.arrow (IPC *stream* format)
 *
 * One row per window of `context` tokens: column `<hook>` is Array2D(shape=(context, d),
 * dtype float32), stored as list<list<float>> with the Array2DExtensionType field metadata, and
 * `token_ids` is fixed_size_list<int32>[context]. The extension metadata is what datasets'
 * `_ArrayXDExtensionType.__arrow_ext_serialize__` writes, json.dumps((shape, dtype)):
 * `[[context, d], "float32"]` — datasets rebuilds the type with `cls(*json.loads(...))`, so it
 * must be that list, not an object.
 *
 * Windows: export needs positions "all" (every token of a sequence, pos 0..L−1). A sequence of
 * L tokens gives L / context rows, window k covering positions [k·context, (k+1)·context). When
 * L is not a multiple of context the export is refused, unless `dropRemainder` is set: then the
 * last L mod context tokens of each sequence are left out (counted in the result). Nothing is
 * padded: padding would put fake activations into SAE training data.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeDirAtomic } from '../util/atomic-write.js';
import { Field, FixedSizeList, Float32, Int32, List, makeData, RecordBatch, RecordBatchStreamWriter, Schema, Struct } from 'apache-arrow';
import { FileFormatError, InterpError, UsageError } from '../errors.js';
import { FdSink } from './fd-sink.js';
import { openCapture, type Capture } from './reader.js';

export interface HfExportOptions {
  /** Tokens per exported row; default the capture's context. */
  context?: number;
  /** Largest data file in bytes (datasets writes ≤ ~2 GB shards); default 2 GiB − 1 MiB. */
  maxShardBytes?: number;
  /** Leave out each sequence's last L mod context tokens instead of refusing. Default false. */
  dropRemainder?: boolean;
}

export interface HfExportResult {
  outDir: string;
  /** Rows (windows of `context` tokens) written. */
  rows: number;
  context: number;
  d: number;
  /** Data file names, in order. */
  files: string[];
  /** Tokens left out under dropRemainder. */
  droppedTokens: number;
}

const EXTENSION_NAME = 'datasets.features.features.Array2DExtensionType';
/** Rows of a record batch are capped so that list offsets stay far below 2^31 and memory small. */
const RECORD_BATCH_BYTES = 64 << 20;

export function exportHfDatasets(captureDir: string, hook: string, outDir: string, options: HfExportOptions = {}): HfExportResult {
  const capture = openCapture(captureDir);
  try {
    return exportCapture(capture, hook, outDir, options);
  } finally {
    capture.close();
  }
}

function exportCapture(capture: Capture, requested: string, outDir: string, options: HfExportOptions): HfExportResult {
  const hook = capture.hook(requested); // short names (resid_post.6) resolve too
  const m = capture.manifest;
  const d = capture.hooks[capture.hookIndex(hook)].d;
  const context = options.context ?? m.context;
  if (!Number.isSafeInteger(context) || context < 1) throw new UsageError(`export: context must be a positive integer, got ${context}`, 'pass --context N with N ≥ 1');
  if (!m.complete) throw new UsageError(`${capture.dir}: the capture is not complete`, 'run the capture command again with the same arguments to finish it, then export');
  if (m.positions !== 'all') {
    throw new UsageError(
      `${capture.dir}: captured positions "${m.positions}", but SAELens rows are Array2D(context, d) windows of consecutive tokens`,
      'capture with --positions all to export for SAELens',
    );
  }
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) {
    throw new UsageError(`${outDir}: exists and is not empty; refusing to overwrite it`, 'choose a new output directory or delete this one');
  }
  const maxShardBytes = options.maxShardBytes ?? 2 ** 31 - (1 << 20);
  const rowBytes = context * d * 4 + (context + 1) * 4 + 4 + context * 4;
  const shardRows = Math.max(1, Math.floor(maxShardBytes / rowBytes));
  const batchRows = Math.max(1, Math.min(shardRows, Math.floor(RECORD_BATCH_BYTES / rowBytes)));

  // Pass 1: sequence lengths (seq and pos only), checking that positions run 0..L-1.
  const lengths = new Map<number, number>();
  for (const b of capture.batches({ hooks: [], batchRows: 1 << 16, columns: [] })) {
    for (let i = 0; i < b.rows; i++) {
      const s = b.seq[i];
      const have = lengths.get(s) ?? 0;
      if (b.pos[i] !== have) {
        throw new FileFormatError(`${capture.dir}: sequence ${s} has position ${b.pos[i]} where ${have} was expected`, 'export needs every position of each sequence in order: capture with --positions all');
      }
      lengths.set(s, have + 1);
    }
  }
  let rows = 0;
  let droppedTokens = 0;
  for (const [s, len] of lengths) {
    const rest = len % context;
    if (rest !== 0 && !options.dropRemainder) {
      throw new UsageError(
        `${capture.dir}: sequence ${s} has ${len} tokens, not a multiple of the export context ${context}`,
        'capture fixed-length sequences, pass a context that divides every sequence length, or allow dropping the remainder (--drop-remainder)',
      );
    }
    rows += Math.floor(len / context);
    droppedTokens += rest;
  }
  if (rows === 0) throw new UsageError(`${capture.dir}: no sequence has ${context} tokens; nothing to export`, 'pass a smaller --context');

  const nShards = Math.ceil(rows / shardRows);
  const files = Array.from({ length: nShards }, (_, i) => `data-${String(i).padStart(5, '0')}-of-${String(nShards).padStart(5, '0')}.arrow`);
  const features = {
    [hook]: { shape: [context, d], dtype: 'float32', _type: 'Array2D' },
    token_ids: { feature: { dtype: 'int32', _type: 'Value' }, length: context, _type: 'Sequence' },
  };
  const schema = hfSchema(hook, context, d, features);
  try {
    // An existing outDir is empty (checked above): writeDirAtomic swaps the filled folder in for it.
    writeDirAtomic(outDir, (tmpDir) => {
      // Pass 2: windows into record batches, record batches into data files.
      const out = new WindowWriter(tmpDir, files, schema, context, d, batchRows, shardRows);
      for (const b of capture.batches({ hooks: [hook], batchRows: 1 << 14, columns: [] })) {
        const x = b.hooks[hook];
        for (let i = 0; i < b.rows; i++) {
          const p = b.pos[i];
          const full = Math.floor((lengths.get(b.seq[i]) as number) / context) * context;
          if (p >= full) continue;
          out.put(p % context, x.subarray(i * d, (i + 1) * d), b.tokenId[i]);
        }
      }
      out.close();
      const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
      fs.writeFileSync(path.join(tmpDir, 'dataset_info.json'), json({ citation: '', description: '', features, homepage: '', license: '' }));
      const state = {
        _data_files: files.map((filename) => ({ filename })),
        _fingerprint: randomBytes(8).toString('hex'),
        _format_columns: null,
        _format_kwargs: {},
        _format_type: null,
        _output_all_columns: false,
        _split: null,
      };
      fs.writeFileSync(path.join(tmpDir, 'state.json'), json(state));
    });
  } catch (err) {
    if (err instanceof InterpError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new FileFormatError(`${outDir}: cannot write the export (${code})`, 'check that the directory is writable and has free space');
  }
  return { outDir, rows, context, d, files, droppedTokens };
}

/** The schema datasets' Features.arrow_schema gives: storage types, extension metadata on the field. */
function hfSchema(hook: string, context: number, d: number, features: object): Schema {
  const inner = new List(new Field('item', new Float32(), true));
  const outer = new List(new Field('item', inner, true));
  const ext = new Map([
    ['ARROW:extension:name', EXTENSION_NAME],
    // Python's json.dumps((shape, dtype)) spelling, separators included.
    ['ARROW:extension:metadata', `[[${context}, ${d}], "float32"]`],
  ]);
  const fields = [new Field(hook, outer, true, ext), new Field('token_ids', new FixedSizeList(context, new Field('item', new Int32(), true)), true)];
  return new Schema(fields, new Map([['huggingface', JSON.stringify({ info: { features } })]]));
}

/** Buffers windows into record batches and streams them into data files of ≤ shardRows rows. */
class WindowWriter {
  private x: Float32Array;
  private ids: Int32Array;
  private rowsInBatch = 0;
  private rowsInShard = 0;
  private shard = -1;
  private fd: number | null = null;
  private writer: RecordBatchStreamWriter | null = null;

  constructor(
    private readonly dir: string,
    private readonly files: readonly string[],
    private readonly schema: Schema,
    private readonly context: number,
    private readonly d: number,
    private readonly batchRows: number,
    private readonly shardRows: number,
  ) {
    this.x = new Float32Array(batchRows * context * d);
    this.ids = new Int32Array(batchRows * context);
  }

  /** Token at offset `t` of the current window; a window is complete after t = context − 1. */
  put(t: number, x: Float32Array, tokenId: number): void {
    const r = this.rowsInBatch;
    this.x.set(x, (r * this.context + t) * this.d);
    this.ids[r * this.context + t] = tokenId;
    if (t === this.context - 1) {
      this.rowsInBatch++;
      this.rowsInShard++;
      if (this.rowsInBatch === this.batchRows || this.rowsInShard === this.shardRows) this.emit();
    }
  }

  close(): void {
    this.emit();
    this.closeFile();
  }

  private emit(): void {
    const n = this.rowsInBatch;
    if (n === 0) return;
    if (!this.writer) this.openFile();
    const { context, d } = this;
    const [hookField, idsField] = this.schema.fields;
    const outerType = hookField.type as List;
    const innerType = outerType.children[0].type as List;
    const leaf = makeData({ type: new Float32(), length: n * context * d, nullCount: 0, data: this.x.subarray(0, n * context * d) });
    const innerOffsets = new Int32Array(n * context + 1);
    for (let i = 0; i <= n * context; i++) innerOffsets[i] = i * d;
    const inner = makeData({ type: innerType, length: n * context, nullCount: 0, valueOffsets: innerOffsets, child: leaf });
    const outerOffsets = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) outerOffsets[i] = i * context;
    const hookData = makeData({ type: outerType, length: n, nullCount: 0, valueOffsets: outerOffsets, child: inner });
    const idLeaf = makeData({ type: new Int32(), length: n * context, nullCount: 0, data: this.ids.subarray(0, n * context) });
    const idData = makeData({ type: idsField.type as FixedSizeList, length: n, nullCount: 0, child: idLeaf });
    const data = makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children: [hookData, idData] });
    (this.writer as RecordBatchStreamWriter).write(new RecordBatch(this.schema, data));
    this.rowsInBatch = 0;
    if (this.rowsInShard === this.shardRows) {
      this.closeFile();
      this.rowsInShard = 0;
    }
  }

  private openFile(): void {
    this.shard++;
    this.fd = fs.openSync(path.join(this.dir, this.files[this.shard]), 'wx');
    this.writer = new RecordBatchStreamWriter();
    this.writer.reset(new FdSink(this.fd));
  }

  private closeFile(): void {
    if (!this.writer || this.fd === null) return;
    this.writer.close(); // writes the end-of-stream marker
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.writer = null;
    this.fd = null;
  }
}
