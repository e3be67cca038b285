/** Shared helpers for test/model: temporary directories, fixtures, hand-built safetensors bytes. */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Parity fixtures shared between checkouts (see its README.md). */
export const fixturesDir = path.resolve(repoRoot, '../shared/fixtures');
export const haveFixtures = fs.existsSync(path.join(fixturesDir, 'gpt2-tiny', 'model.safetensors'));
if (!haveFixtures) console.warn(`[test/model] ${fixturesDir} is absent: fixture tests are skipped`);

const made: string[] = [];

/** A fresh temporary directory, removed after the current test. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-model-'));
  made.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Raw safetensors bytes: 8-byte length (or `declaredLength`), the header (an object is
 * JSON-encoded, a string UTF-8 encoded, bytes used as they are), then `data`.
 */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Buffer {
  const json =
    header instanceof Uint8Array
      ? Buffer.from(header)
      : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(json.length), 0);
  return Buffer.concat([prefix, json, data]);
}

/** Writes `bytes` to `dir/name` and returns the path. */
export function writeFile(dir: string, name: string, bytes: Uint8Array | string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

/** Little-endian bytes of uint16 values. */
export function u16le(values: number[]): Uint8Array {
  const out = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => out.writeUInt16LE(v, i * 2));
  return out;
}
