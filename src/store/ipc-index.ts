/**
 * Where every buffer of an Arrow IPC file lies, read from its footer and message headers alone
 * (apache-arrow's Footer / Message decoders, positioned reads, no body bytes).
 *
 * This is what lets readers fetch only the columns they need (one hook of twelve reads one
 * twelfth of the file) and read single rows by offset for a uniform shuffle. It covers what the
 * capture writer produces: uncompressed IPC files, fixed-width and utf8 leaves, FixedSizeList and
 * dictionary columns; anything else is refused as a format error naming the file.
 *
 * Buffers of a record batch are listed depth-first per field (Arrow columnar spec, "Buffer
 * listing for each layout"): fixed-width, bool, dictionary indices: [validity, values];
 * utf8: [validity, offsets, data]; FixedSizeList: [validity] then its child's buffers.
 */
import fs from 'node:fs';
import { Message, Type, type DataType, type Field, type Schema } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { FileFormatError } from '../errors.js';
import { footerProblem, messageProblem } from './ipc-bounds.js';

const MAGIC = 'ARROW1';

/** One buffer's place: byte offset from the start of the file, and length. */
export interface BufferLoc {
  offset: number;
  length: number;
}

/** One leaf or list node of a column: its row count, null count and buffers. */
export interface NodeLoc {
  length: number;
  nullCount: number;
  buffers: BufferLoc[];
}

export interface BatchIndex {
  /** Rows in this record batch. */
  rows: number;
  /** Per top-level field, its nodes depth-first (FixedSizeList: [list, child]). */
  columns: NodeLoc[][];
}

export interface IpcFileIndex {
  file: string;
  schema: Schema;
  batches: BatchIndex[];
  /** Dictionary id → nodes of its (single-column) dictionary batch. */
  dictionaries: Map<number, NodeLoc[]>;
  rows: number;
}

/** Reads the footer and every message header of an Arrow IPC file. */
export function indexIpcFile(file: string): IpcFileIndex {
  const bad = (what: string): never => {
    throw new FileFormatError(`${file}: ${what}`, 'the shard is damaged or not an Arrow IPC file: delete the capture directory and capture again');
  };
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    return bad(`cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return indexOpenFile(fd, file, bad);
  } catch (err) {
    // apache-arrow's decoders throw TypeErrors on damaged metadata (an offset too large for a
    // number, a missing table): the file's fault, reported as such.
    if (err instanceof FileFormatError) throw err;
    return bad(`unreadable Arrow metadata (${(err as Error)?.message ?? String(err)})`);
  } finally {
    fs.closeSync(fd);
  }
}

/** indexIpcFile's work on an open file. */
function indexOpenFile(fd: number, file: string, bad: (what: string) => never): IpcFileIndex {
  const size = fs.fstatSync(fd).size;
  if (size < 2 * 8 + 4) bad(`${size} bytes is too short for an Arrow IPC file`);
  const head = readAt(fd, 0, 6);
  const tail = readAt(fd, size - 10, 10);
  if (ascii(head) !== MAGIC || ascii(tail.subarray(4)) !== MAGIC) bad('no ARROW1 magic at start and end (truncated, or not an Arrow IPC file)');
  const footerLen = new DataView(tail.buffer, tail.byteOffset).getInt32(0, true);
  if (footerLen <= 0 || footerLen > size - 16) bad(`footer length ${footerLen} does not fit the file`);
  const footerBytes = readAt(fd, size - 10 - footerLen, footerLen);
  const problem = footerProblem(footerBytes);
  if (problem) bad(`damaged footer: ${problem}`);
  let footer: Footer;
  try {
    footer = Footer.decode(footerBytes);
  } catch (err) {
    return bad(`unreadable footer (${(err as Error).message})`);
  }
  const schema = footer.schema;
  const batches: BatchIndex[] = [];
  let rows = 0;
  for (const block of footer.recordBatches()) {
    const { header, bodyStart } = readMessage(fd, file, size, block.offset, block.metaDataLength, block.bodyLength, bad);
    if (!header.isRecordBatch()) bad(`block at ${block.offset} is not a record batch`);
    const rb = header.header() as { length: number; nodes: { length: number; nullCount: number }[]; buffers: { offset: number; length: number }[]; compression: unknown };
    if (rb.compression) bad('compressed record batches are not supported');
    const batchRows = Number(rb.length);
    if (!Number.isSafeInteger(batchRows) || batchRows < 0) bad(`record batch at ${block.offset} has ${batchRows} rows`);
    const columns = splitColumns(schema.fields, rb.nodes, rb.buffers, bodyStart, block.bodyLength, bad);
    if (columns.some((c) => c[0].length !== batchRows)) bad(`record batch at ${block.offset} has columns whose length is not its ${batchRows} rows`);
    batches.push({ rows: batchRows, columns });
    rows += batchRows;
  }
  const dictionaries = new Map<number, NodeLoc[]>();
  for (const block of footer.dictionaryBatches()) {
    const { header, bodyStart } = readMessage(fd, file, size, block.offset, block.metaDataLength, block.bodyLength, bad);
    if (!header.isDictionaryBatch()) bad(`block at ${block.offset} is not a dictionary batch`);
    const db = header.header() as { id: number; isDelta: boolean; data: { nodes: { length: number; nullCount: number }[]; buffers: { offset: number; length: number }[] } };
    if (db.isDelta || dictionaries.has(db.id)) bad(`dictionary ${db.id} has deltas or replacements, which capture shards never hold`);
    const valueType = schema.dictionaries.get(db.id);
    if (!valueType) bad(`dictionary ${db.id} belongs to no field`);
    const [nodes] = splitColumns([{ type: valueType } as Field], db.data.nodes, db.data.buffers, bodyStart, block.bodyLength, bad);
    dictionaries.set(db.id, nodes);
  }
  return { file, schema, batches, dictionaries, rows };
}

function readMessage(fd: number, file: string, size: number, offset: number, metaLen: number, bodyLen: number, bad: (w: string) => never): { header: Message; bodyStart: number } {
  if (![offset, metaLen, bodyLen].every((v) => Number.isSafeInteger(v) && v >= 0) || offset < 8 || metaLen < 8 || offset + metaLen + bodyLen > size) {
    bad(`a block at ${offset} (metadata ${metaLen} bytes, body ${bodyLen}) does not fit the ${size}-byte file`);
  }
  const meta = readAt(fd, offset, metaLen);
  const view = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  // Messages start with 0xFFFFFFFF then the flatbuffer length (legacy files omit the marker).
  let at = view.getInt32(0, true) === -1 ? 4 : 0;
  const len = view.getInt32(at, true);
  at += 4;
  if (len <= 0 || at + len > metaLen) bad(`message at ${offset} has a bad length ${len}`);
  const problem = messageProblem(meta.subarray(at, at + len));
  if (problem) bad(`damaged message at ${offset}: ${problem}`);
  try {
    return { header: Message.decode(meta.subarray(at, at + len)), bodyStart: offset + metaLen };
  } catch (err) {
    return bad(`unreadable message at ${offset} (${(err as Error).message})`);
  }
}

/** Groups a batch's flat node and buffer lists by top-level field. */
function splitColumns(
  fields: readonly Field[],
  nodes: readonly { length: number; nullCount: number }[],
  buffers: readonly { offset: number; length: number }[],
  bodyStart: number,
  bodyLength: number,
  bad: (w: string) => never,
): NodeLoc[][] {
  let ni = 0;
  let bi = 0;
  const take = (type: DataType, out: NodeLoc[], expectedLength: number | null): void => {
    const node = nodes[ni++];
    if (!node) bad('record batch has fewer field nodes than the schema has fields');
    const length = Number(node.length);
    const nullCount = Number(node.nullCount);
    if (!Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(nullCount) || nullCount < 0 || nullCount > length) bad(`a field node has length ${length} and null count ${nullCount}`);
    if (expectedLength !== null && length !== expectedLength) bad(`a list's child has ${length} values, expected ${expectedLength}`);
    const nbuf = leafBuffers(type, bad);
    const locs: BufferLoc[] = [];
    for (let k = 0; k < nbuf; k++) {
      const b = buffers[bi++];
      if (!b) bad('record batch has fewer buffers than its schema needs');
      const [offset, size] = [Number(b.offset), Number(b.length)];
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > bodyLength) bad(`a buffer runs past its record batch body`);
      locs.push({ offset: bodyStart + offset, length: size });
    }
    // Readers read `length` values from these buffers: each must hold them.
    const needed = valueBytes(type, length);
    if (needed !== null && locs[1].length < needed) bad(`a ${String(type)} column of ${length} values has a ${locs[1].length}-byte buffer, needs ${needed}`);
    if (nullCount > 0 && locs[0].length < Math.ceil(length / 8)) bad(`a column of ${length} values with nulls has a ${locs[0].length}-byte validity bitmap`);
    out.push({ length, nullCount, buffers: locs });
    if (type.typeId === Type.FixedSizeList) take((type.children[0] as Field).type, out, length * (type as unknown as { listSize: number }).listSize);
  };
  const columns = fields.map((f) => {
    const out: NodeLoc[] = [];
    take(f.type, out, null);
    return out;
  });
  if (ni !== nodes.length || bi !== buffers.length) bad('record batch holds more nodes or buffers than its schema needs');
  return columns;
}

/** Bytes buffer 1 (values, offsets or dictionary indices) must hold for `n` values; null for types without one. */
function valueBytes(type: DataType, n: number): number | null {
  switch (type.typeId) {
    case Type.Int:
      return n * ((type as unknown as { bitWidth: number }).bitWidth / 8);
    case Type.Float:
      return n * [2, 4, 8][(type as unknown as { precision: number }).precision];
    case Type.Bool:
      return Math.ceil(n / 8);
    case Type.Dictionary:
      return n * ((type as unknown as { indices: { bitWidth: number } }).indices.bitWidth / 8);
    case Type.Utf8:
      return (n + 1) * 4;
    default:
      return null;
  }
}

/** Buffers of one node of `type` (children excluded). */
function leafBuffers(type: DataType, bad: (w: string) => never): number {
  switch (type.typeId) {
    case Type.Int:
    case Type.Float:
    case Type.Bool:
    case Type.Dictionary: // the indices
      return 2;
    case Type.Utf8:
      return 3;
    case Type.FixedSizeList:
      return 1;
    default:
      return bad(`column type ${String(type)} is not one a capture shard holds`);
  }
}

/** Reads exactly `length` bytes at `offset` (into `into` when given); `file` names the file in errors. */
export function readAt(fd: number, offset: number, length: number, into?: Uint8Array, file = `file descriptor ${fd}`): Uint8Array {
  const buf = into ?? new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) throw new FileFormatError(`${file}: unexpected end of file at byte ${offset + done}`, 'the file is truncated: capture again');
    done += n;
  }
  return buf;
}

function ascii(b: Uint8Array): string {
  return String.fromCharCode(...b);
}
