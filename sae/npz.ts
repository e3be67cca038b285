/**
 * Reading NumPy .npz archives (Gemma Scope's params.npz) without Python and without unpickling.
 *
 * An .npz is a zip archive of .npy files (numpy.lib.format). The zip is read from its central
 * directory (PKWARE APPNOTE 6.3.x §4.3.12–16; zip64 fields §4.5.3, which numpy's savez writes
 * with force_zip64), entries are stored (method 0) or deflated (method 8, node:zlib
 * inflateRawSync). A .npy is the magic "\x93NUMPY", a version, a header length (2 bytes in
 * version 1, 4 in 2 and 3), and a Python-literal dict {'descr', 'fortran_order', 'shape'};
 * only numeric little-endian dtypes are accepted: object arrays (descr "O"), which would need
 * unpickling, are refused.
 */
import fs from 'node:fs';
import buffer from 'node:buffer';
import { inflateRawSync } from 'node:zlib';
import { FileFormatError } from '../src/errors.js';

/** One array of an .npz, widened to float32, row-major. */
export interface NpyArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

const FIX = 'the file is not a valid .npz archive: save it again with numpy.savez (object arrays are not supported)';

/**
 * Reads `length` bytes at `position`. Both come from the archive's own fields, so they are checked
 * against the file's size before anything is allocated: a forged size must not allocate gigabytes.
 */
function readAt(fd: number, file: string, position: number, length: number): Buffer {
  const size = fs.fstatSync(fd).size;
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position + length > size) {
    throw new FileFormatError(`${file}: a zip record points at bytes ${position}..${position + length}, outside the ${size}-byte file (truncated or damaged)`, FIX);
  }
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new FileFormatError(`${file}: ends at byte ${position + done}, expected ${length} bytes at ${position}`, FIX);
    done += n;
  }
  return out;
}

/** The central directory's entries (zip64 sizes and offsets resolved). */
function centralDirectory(fd: number, file: string): ZipEntry[] {
  const size = fs.fstatSync(fd).size;
  const tailLength = Math.min(size, 65557);
  const tail = readAt(fd, file, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new FileFormatError(`${file}: no zip end-of-central-directory record`, FIX);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && tail.readUInt32LE(locator) === 0x07064b50) {
    const rec = readAt(fd, file, Number(tail.readBigUInt64LE(locator + 8)), 56);
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  const cd = readAt(fd, file, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let n = 0; n < count; n++) {
    const damaged = () => new FileFormatError(`${file}: damaged zip central directory at entry ${n}`, FIX);
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== 0x02014b50) throw damaged();
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    if (at + 46 + nameLength + extraLength > cd.length) throw damaged();
    const fields = { compressedSize: cd.readUInt32LE(at + 20), size: cd.readUInt32LE(at + 24), localOffset: cd.readUInt32LE(at + 42) };
    readZip64Extra(cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), fields);
    entries.push({ name: cd.toString('utf8', at + 46, at + 46 + nameLength), method: cd.readUInt16LE(at + 10), ...fields });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Replaces 0xFFFFFFFF fields by the zip64 extra field's values (in the order APPNOTE §4.5.3 gives). */
function readZip64Extra(extra: Buffer, f: { compressedSize: number; size: number; localOffset: number }): void {
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      let p = at + 4;
      const end = Math.min(extra.length, at + 4 + length);
      // A field the record lacks stays 0xFFFFFFFF, which readAt then refuses as past the end.
      const next = () => { if (p + 8 > end) return 0xffffffff; const v = Number(extra.readBigUInt64LE(p)); p += 8; return v; };
      if (f.size === 0xffffffff) f.size = next();
      if (f.compressedSize === 0xffffffff) f.compressedSize = next();
      if (f.localOffset === 0xffffffff) f.localOffset = next();
    }
    at += 4 + length;
  }
}

function entryBytes(fd: number, file: string, e: ZipEntry): Buffer {
  const local = readAt(fd, file, e.localOffset, 30);
  if (local.readUInt32LE(0) !== 0x04034b50) throw new FileFormatError(`${file}: damaged local header of ${e.name}`, FIX);
  const start = e.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const raw = readAt(fd, file, start, e.compressedSize);
  switch (e.method) {
    case 0:
      return raw;
    case 8:
      // At most the declared size is inflated (a deflate bomb stops there), and it must be exact.
      try {
        const out = inflateRawSync(raw, { maxOutputLength: Math.max(1, Math.min(e.size, buffer.constants.MAX_LENGTH)) });
        if (out.length === e.size) return out;
      } catch {
        // reported below
      }
      throw new FileFormatError(`${file}: ${e.name} does not inflate to its declared ${e.size} bytes (damaged deflate data)`, FIX);
    default:
      throw new FileFormatError(`${file}: ${e.name} uses zip compression method ${e.method}`, 'save the archive with numpy.savez or numpy.savez_compressed (stored or deflated)');
  }
}

const DTYPES: Record<string, { bytes: number; read: (b: Buffer, i: number) => number }> = {
  '<f4': { bytes: 4, read: (b, i) => b.readFloatLE(i * 4) },
  '<f8': { bytes: 8, read: (b, i) => b.readDoubleLE(i * 8) },
  '<f2': { bytes: 2, read: (b, i) => halfToFloat(b.readUInt16LE(i * 2)) },
  '<i4': { bytes: 4, read: (b, i) => b.readInt32LE(i * 4) },
  '<i8': { bytes: 8, read: (b, i) => Number(b.readBigInt64LE(i * 8)) },
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Parses one .npy file's bytes; `where` names it in errors. */
export function parseNpy(bytes: Buffer, where: string): NpyArray {
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new FileFormatError(`${where}: not a .npy array (bad magic)`, FIX);
  const major = bytes[6];
  if (major !== 1 && major !== 2 && major !== 3) throw new FileFormatError(`${where}: .npy format version ${major} is not 1, 2 or 3`, FIX);
  if (major !== 1 && bytes.length < 12) throw new FileFormatError(`${where}: not a .npy array (truncated header)`, FIX);
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.length) throw new FileFormatError(`${where}: header length ${headerLength} runs past the end of the array's ${bytes.length} bytes`, FIX);
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new FileFormatError(`${where}: unreadable .npy header ${JSON.stringify(header.trim())}`, FIX);
  const dtype = DTYPES[descr.replace(/^\|/, '<').replace(/^=/, '<')];
  if (!dtype) {
    const why = descr.includes('O') ? 'an object array, which would need unpickling (refused)' : `dtype ${descr}`;
    throw new FileFormatError(`${where}: ${why}`, 'store the array as little-endian float32 (numpy: a.astype("<f4"))');
  }
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!dims.every((s) => /^\d+$/.test(s))) throw new FileFormatError(`${where}: shape (${shapeText}) must list non-negative integers`, FIX);
  const shape = dims.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start + headerLength);
  if (!Number.isSafeInteger(count * dtype.bytes) || body.length < count * dtype.bytes) throw new FileFormatError(`${where}: holds ${body.length} data bytes, shape [${shape.join(', ')}] needs ${count * dtype.bytes}`, FIX);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = dtype.read(body, i);
  return { shape, data: fortran === 'True' ? toRowMajor(data, shape) : data };
}

/** Column-major (Fortran order) data of `shape` to row-major. */
function toRowMajor(data: Float32Array, shape: readonly number[]): Float32Array {
  if (shape.length < 2) return data;
  const out = new Float32Array(data.length);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let f = 0; f < data.length; f++) {
    let c = 0;
    for (let a = 0; a < rank; a++) c = c * shape[a] + index[a];
    out[c] = data[f];
    for (let a = 0; a < rank; a++) { if (++index[a] < shape[a]) break; index[a] = 0; }
  }
  return out;
}

/** Every array of an .npz archive, by name (without ".npy"). */
export function readNpz(file: string): Map<string, NpyArray> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new FileFormatError(`${file}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'check the path');
  }
  try {
    const out = new Map<string, NpyArray>();
    for (const e of centralDirectory(fd, file)) {
      if (!e.name.endsWith('.npy')) continue;
      out.set(e.name.slice(0, -4), parseNpy(entryBytes(fd, file, e), `${file}:${e.name}`));
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
