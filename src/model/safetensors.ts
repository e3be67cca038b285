/**
 * Safetensors files: header parser, positioned tensor reads, and an atomic writer.
 *
 * Layout (https://github.com/huggingface/safetensors#format): an unsigned 64-bit little-endian
 * header length N, then N bytes of UTF-8 JSON (padded with spaces), then the data buffer. The
 * JSON maps each tensor name to {dtype, shape, data_offsets: [begin, end]}, offsets relative to
 * the start of the data buffer; the optional `__metadata__` key maps strings to strings.
 *
 * Reading never loads a whole file: the header is read once, and each tensor is read on demand
 * with one positioned read of exactly its bytes.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { ModelFormatError, UsageError, FileFormatError, describeValue } from '../errors.js';
import { DTYPE_BYTES, SAFETENSORS_DTYPES, isFloatDtype, isSafetensorsDtype, widenToFloat32 } from './dtype.js';
import type { SafetensorsDtype, TensorInfo } from './types.js';

/** A header larger than this is refused: real checkpoints have headers of a few MB at most. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** What to do about a file whose bytes are not a valid safetensors file. */
const FIX_DAMAGED =
  'the file is damaged or was not written by safetensors: download it again, or re-save it in Python with ' +
  '`model.save_pretrained(out_dir, safe_serialization=True)` (or `safetensors.torch.save_file`)';

/** A parsed safetensors header. */
export interface SafetensorsHeader {
  /** Absolute path of the file. */
  readonly file: string;
  /** File size in bytes when the header was read. */
  readonly fileSize: number;
  /** Absolute offset of the data buffer (8 + header length). */
  readonly dataStart: number;
  /** Every tensor, sorted by offset (file order). */
  readonly tensors: readonly TensorInfo[];
  /** `__metadata__` (string → string), or null when the file has none. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** The first `dataStart` bytes of the file verbatim (length prefix + JSON), for hashing. */
  readonly headerBytes: Uint8Array;
}

function formatError(file: string, problem: string, fix: string = FIX_DAMAGED): ModelFormatError {
  return new ModelFormatError(`${file}: not a valid safetensors file: ${problem}`, fix);
}

/** Reads exactly `length` bytes at `position`, or throws naming the file. */
function readExactly(fd: number, file: string, length: number, position: number): Uint8Array {
  // Own ArrayBuffer at offset 0, so fp32 data can be viewed without a copy.
  const out = new Uint8Array(length);
  const CHUNK = 1 << 30; // readSync takes at most 2 GiB per call
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, Math.min(CHUNK, length - done), position + done);
    if (n === 0) {
      throw formatError(
        file,
        `expected ${length} bytes at offset ${position}, but the file ends after ${done} of them ` +
          '(was it truncated or changed since it was opened?)',
      );
    }
    done += n;
  }
  return out;
}

function withFile<T>(file: string, body: (fd: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new FileFormatError(`${file}: cannot open (${code})`, 'check that the file exists and is readable');
  }
  try {
    return body(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return describeValue(value);
}

/** product(shape) × element size, or null when it is not a safe integer. */
function expectedBytes(shape: readonly number[], dtype: SafetensorsDtype): number | null {
  let n = DTYPE_BYTES[dtype];
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** Validates one header entry and returns its TensorInfo. */
function parseEntry(file: string, name: string, entry: unknown, dataStart: number, fileSize: number): TensorInfo {
  const where = `tensor "${name}"`;
  if (!isPlainObject(entry)) {
    throw formatError(file, `${where}: expected an object {dtype, shape, data_offsets}, got ${describe(entry)}`);
  }
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in entry)) throw formatError(file, `${where} has no "${key}" (expected dtype, shape and data_offsets)`);
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isSafetensorsDtype(dtype)) {
    throw formatError(
      file,
      `${where} has dtype ${describe(dtype)}; interp reads ${SAFETENSORS_DTYPES.join(', ')}`,
      'convert the checkpoint to float32, float16 or bfloat16 in Python (`model.to(torch.float32).save_pretrained(out_dir)`)',
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw formatError(file, `${where}: shape must be a list of non-negative integers, got ${describe(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    throw formatError(file, `${where}: data_offsets must be [begin, end] with non-negative integers, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw formatError(file, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (dataStart + end > fileSize) {
    throw formatError(
      file,
      `${where}: data_offsets [${begin}, ${end}] run past the end of the file ` +
        `(data buffer is ${fileSize - dataStart} bytes; the file may be truncated)`,
    );
  }
  const expected = expectedBytes(shape, dtype);
  if (expected !== end - begin) {
    throw formatError(
      file,
      `${where}: shape [${shape.join(', ')}] × ${dtype} (${DTYPE_BYTES[dtype]} bytes) needs ` +
        `${expected ?? 'an impossible number of'} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype, shape: Object.freeze([...shape]), file, offset: dataStart + begin, byteLength: end - begin };
}

/**
 * Reads and validates the header of a safetensors file. Reads only the header bytes.
 * Throws ModelFormatError (naming `file`) for a short file, an absurd or overlong header length,
 * invalid JSON, a malformed entry, an unknown dtype, offsets that are negative, reversed, past the
 * file or overlapping, and a byte length that disagrees with shape × element size.
 */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const abs = path.resolve(file);
  return withFile(abs, (fd) => {
    const fileSize = fs.fstatSync(fd).size;
    if (fileSize < 8) {
      throw formatError(abs, `the file is ${fileSize} bytes, shorter than the 8-byte header length`);
    }
    const prefix = readExactly(fd, abs, 8, 0);
    const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
    if (headerLength > BigInt(MAX_HEADER_BYTES)) {
      throw formatError(abs, `header length ${headerLength} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    }
    const n = Number(headerLength);
    if (8 + n > fileSize) {
      throw formatError(abs, `header length ${n} runs past the end of the ${fileSize}-byte file (truncated?)`);
    }
    const headerBytes = new Uint8Array(8 + n);
    headerBytes.set(prefix, 0);
    headerBytes.set(readExactly(fd, abs, n, 8), 8);

    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes.subarray(8)));
    } catch (err) {
      throw formatError(abs, `the ${n}-byte header is not valid UTF-8 JSON (${(err as Error).message})`);
    }
    if (!isPlainObject(json)) throw formatError(abs, `the header must be a JSON object, got ${describe(json)}`);

    const dataStart = 8 + n;
    let metadata: Record<string, string> | null = null;
    const tensors: TensorInfo[] = [];
    for (const [name, entry] of Object.entries(json)) {
      if (name === '__metadata__') {
        if (!isPlainObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
          throw formatError(abs, `__metadata__ must be an object of strings, got ${describe(entry)}`);
        }
        metadata = Object.freeze({ ...(entry as Record<string, string>) });
        continue;
      }
      tensors.push(parseEntry(abs, name, entry, dataStart, fileSize));
    }

    // File order; then no two non-empty tensors may share a byte.
    tensors.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
    let previous: TensorInfo | null = null;
    for (const t of tensors) {
      if (t.byteLength === 0) continue;
      if (previous && t.offset < previous.offset + previous.byteLength) {
        throw formatError(
          abs,
          `tensors "${previous.name}" and "${t.name}" overlap (bytes ${previous.offset - dataStart}..` +
            `${previous.offset - dataStart + previous.byteLength} and ${t.offset - dataStart}..` +
            `${t.offset - dataStart + t.byteLength} of the data buffer)`,
        );
      }
      previous = t;
    }
    return { file: abs, fileSize, dataStart, tensors, metadata, headerBytes };
  });
}

/** Reads one tensor's raw little-endian bytes with a single positioned read. */
export function readTensorBytes(info: TensorInfo): Uint8Array {
  return withFile(info.file, (fd) => readExactly(fd, info.file, info.byteLength, info.offset));
}

/**
 * Reads one floating-point tensor as fp32, shape `info.shape` row-major. F16, BF16 and F64 are
 * converted; integer dtypes throw ModelFormatError (use readTensorInts).
 */
export function readTensorF32(info: TensorInfo): Float32Array {
  if (!isFloatDtype(info.dtype)) {
    throw new ModelFormatError(
      `${info.file}: tensor "${info.name}" is ${info.dtype}, expected a floating-point dtype (F32, F16, BF16, F64)`,
      'this tensor holds integers: read it with readInts, or check that the checkpoint is the model you meant',
    );
  }
  return widenToFloat32(info.dtype, readTensorBytes(info));
}

/**
 * Reads one integer (or BOOL) tensor as plain numbers, shape `info.shape` row-major. I64 values
 * outside ±2^53 throw, since a JavaScript number cannot hold them exactly.
 */
export function readTensorInts(info: TensorInfo): { data: number[]; shape: readonly number[] } {
  if (isFloatDtype(info.dtype)) {
    throw new ModelFormatError(
      `${info.file}: tensor "${info.name}" is ${info.dtype}, expected an integer dtype (I64, I32, I16, I8, U8, BOOL)`,
      'this tensor holds floats: read it with readF32',
    );
  }
  const bytes = readTensorBytes(info);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = info.byteLength / DTYPE_BYTES[info.dtype];
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    switch (info.dtype) {
      case 'I64': {
        const v = view.getBigInt64(i * 8, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new ModelFormatError(
            `${info.file}: tensor "${info.name}" element ${i} is ${v}, outside the range a JavaScript number holds exactly (±2^53)`,
            'store ids as int32 or int64 values below 2^53',
          );
        }
        data[i] = Number(v);
        break;
      }
      case 'I32':
        data[i] = view.getInt32(i * 4, true);
        break;
      case 'I16':
        data[i] = view.getInt16(i * 2, true);
        break;
      case 'I8':
        data[i] = view.getInt8(i);
        break;
      case 'U8':
      case 'BOOL':
        data[i] = view.getUint8(i);
        break;
    }
  }
  return { data, shape: info.shape };
}

/** One tensor to write: its dtype, shape, and row-major data of the matching typed array. */
export type WritableTensor =
  | { dtype: 'F32'; shape: readonly number[]; data: Float32Array }
  | { dtype: 'F16'; shape: readonly number[]; data: Uint16Array }
  | { dtype: 'I64'; shape: readonly number[]; data: BigInt64Array }
  | { dtype: 'I32'; shape: readonly number[]; data: Int32Array };

const WRITER_ARRAYS = { F32: Float32Array, F16: Uint16Array, I64: BigInt64Array, I32: Int32Array } as const;

/**
 * Writes a safetensors file atomically: to a temporary name in the same directory, fsynced, then
 * renamed over `file`, so readers see the old file or the complete new one, never a partial one.
 * Tensors are packed back to back in the order given; the header is padded with spaces to a
 * multiple of 8 bytes; `metadata` becomes `__metadata__`. F16 data is binary16 bit patterns (see
 * toFloat16Bits). Python's `safetensors.torch.load_file` reads the result.
 */
export function writeSafetensors(
  file: string,
  tensors: Readonly<Record<string, WritableTensor>>,
  metadata?: Readonly<Record<string, string>>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new UsageError(`writeSafetensors(${file}): metadata "${k}" must be a string, got ${typeof v}`, 'convert metadata values to strings (JSON.stringify for structured values)');
      }
    }
    header.__metadata__ = { ...metadata };
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__' || name === '') {
      throw new UsageError(`writeSafetensors(${file}): "${name}" is not a valid tensor name`, 'rename the tensor');
    }
    const ArrayType = WRITER_ARRAYS[t.dtype];
    if (!ArrayType || !(t.data instanceof ArrayType)) {
      throw new UsageError(
        `writeSafetensors(${file}): tensor "${name}" has dtype ${t.dtype} but data is a ${t.data?.constructor?.name}`,
        'pass F32 as Float32Array, F16 as Uint16Array bit patterns, I64 as BigInt64Array, I32 as Int32Array',
      );
    }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || count !== t.data.length) {
      throw new UsageError(
        `writeSafetensors(${file}): tensor "${name}" has shape [${t.shape.join(', ')}] (${count} elements) ` +
          `but ${t.data.length} values`,
        'pass a shape whose product equals the data length',
      );
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length), 0);

  writeFileAtomic(file, [prefix, json, ...parts]);
}

