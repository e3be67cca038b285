/**
 * The one home of durable, all-or-nothing writes: a file is written to a temporary sibling,
 * fsynced, renamed over its name, and the directory fsynced so the rename survives a crash; a
 * directory is filled beside its name and swapped in. Readers therefore see the old file or the
 * new one, never half of either, and nothing the user made is lost when a write fails.
 *
 * Kept by hand rather than through write-file-atomic: safetensors and capture shards are written
 * in chunks of up to gigabytes (write-file-atomic takes one buffer, which would double the
 * memory), the directory fsync is needed for durability (write-file-atomic fsyncs the file only),
 * and every failure must name the file it was writing.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, InterpError } from '../errors.js';

/** A temporary name beside `file` that no other process or call will pick. */
export function temporarySibling(file: string): string {
  const abs = path.resolve(file);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** fsyncs a directory so that a rename inside it is durable; best effort (not every platform can). */
export function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported here (e.g. Windows): the rename itself is still atomic */
  }
}

/**
 * Writes `file` whole or not at all: `fill(fd)` writes the temporary `tmp`, which is fsynced and
 * renamed over `file`, then the directory is fsynced. On failure `tmp` is removed and the error
 * is rethrown as it was (callers name the file in their own error type).
 */
export function writeDurably(file: string, fill: (fd: number) => void, tmp: string = temporarySibling(file)): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w');
    fill(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(path.dirname(path.resolve(file)));
}

/** Writes all of `bytes` at the fd's position, in pieces of at most 1 GiB (one writeSync call may write less). */
export function writeAll(fd: number, bytes: Uint8Array, position: number | null = null): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), position === null ? null : position + done);
  }
}

/**
 * Writes `data` (text, bytes, or chunks written back to back) to `file` durably; with `mkdir`, its
 * directory is created first. A failure is a FileFormatError naming the file, with nothing left behind.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array | readonly Uint8Array[], options: { mkdir?: boolean } = {}): void {
  const abs = path.resolve(file);
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  try {
    if (options.mkdir) fs.mkdirSync(path.dirname(abs), { recursive: true });
    writeDurably(abs, (fd) => { for (const chunk of chunks) writeAll(fd, chunk); });
  } catch (err) {
    if (err instanceof InterpError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new FileFormatError(`${abs}: cannot write (${code})`, 'check that the directory exists, is writable and has free space');
  }
}

/**
 * Writes `dir` atomically: `fill(tmp)` writes every file into a fresh sibling directory, which
 * then replaces `dir` (an existing `dir` is moved aside first and removed after the rename, with
 * any `dir.old-*` that an earlier, killed swap left behind).
 */
export function writeDirAtomic(dir: string, fill: (tmp: string) => void): void {
  const abs = path.resolve(dir);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = `${abs}.tmp-${tag}`;
  fs.mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const old = `${abs}.old-${tag}`;
  const had = fs.existsSync(abs);
  if (had) fs.renameSync(abs, old);
  fs.renameSync(tmp, abs);
  syncDir(path.dirname(abs));
  removeSetAside(abs);
}

/** Removes every `dir.old-*` beside `dir`: copies replaced by a completed swap. */
function removeSetAside(abs: string): void {
  const base = path.basename(abs);
  for (const f of fs.readdirSync(path.dirname(abs))) {
    if (f.startsWith(`${base}.old-`)) fs.rmSync(path.join(path.dirname(abs), f), { recursive: true, force: true });
  }
}

/**
 * Puts back a folder left moved aside by a writeDirAtomic that died between its two renames
 * (`dir` missing, `dir.old-*` present); returns whether it did. Temporary `dir.tmp-*` leftovers
 * are removed: they may be incomplete; so is a `dir.old-*` beside a `dir` (a swap killed while
 * removing the copy it replaced).
 */
export function recoverInterruptedSwap(dir: string): boolean {
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  if (!fs.existsSync(parent)) return false;
  const base = path.basename(abs);
  const siblings = fs.readdirSync(parent);
  for (const f of siblings) if (f.startsWith(`${base}.tmp-`)) fs.rmSync(path.join(parent, f), { recursive: true, force: true });
  if (fs.existsSync(abs)) {
    removeSetAside(abs);
    return false;
  }
  const old = siblings.filter((f) => f.startsWith(`${base}.old-`)).sort().at(-1);
  if (!old) return false;
  fs.renameSync(path.join(parent, old), abs);
  return true;
}
