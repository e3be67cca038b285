/**
 * Paths read from files that would lead out of their directory are refused (issue 9): shard names
 * in a capture's manifest.json, shard names in model.safetensors.index.json, page paths in the
 * report index. Each is given "../", absolute (POSIX and Windows), backslash and embedded ".."
 * forms, and, where the loader follows links, a symlink that leads outside.
 *
 * Files that name other files and are not listed here either are written and never read back
 * (a probe sweep's manifest.json `layers[].path`, steering and SAE run manifests), record
 * provenance only (probe.json `capture.dir`, vector.json `dataset.path`, a capture's
 * `dataset.path`), or name no files (cfg.json, vector.json, probe.json).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFormatError, InterpError, ModelFormatError } from '../../src/errors.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { openModelWeights, openShardedSafetensors } from '../../src/model/weights.js';
import { listReports, updateIndex } from '../../src/report/registry.js';
import { CaptureWriter, openCapture } from '../../src/store/index.js';
import { batch, header } from '../store/store-helpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-path-escape-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh directory under the suite's root. */
function dir(name: string): string {
  return fs.mkdtempSync(path.join(root, `${name}-`));
}

/** Forms of a path that leaves its directory. */
const ESCAPES = ['../outside.safetensors', '../../etc/passwd', '/etc/passwd', 'sub/../../outside', 'a\\..\\..\\outside', 'C:\\Windows\\win.ini', '\\\\server\\share\\x', '..'];

/** Expects `call` to throw an InterpError of `type` whose message names `file` and matches `pattern`. */
function expectRefusal(call: () => unknown, type: typeof InterpError, file: string, pattern: RegExp): void {
  let error: unknown;
  try {
    call();
  } catch (err) {
    error = err;
  }
  expect(error, 'expected a refusal').toBeInstanceOf(type);
  expect((error as Error).message).toContain(file);
  expect((error as Error).message).toMatch(pattern);
}

describe('capture manifest.json: shard file names', () => {
  function capture(): string {
    const d = dir('capture');
    const w = CaptureWriter.open(d, header({ dtype: 'f32' }), { shardRows: 24, recordBatchRows: 10 });
    w.append(batch(0, 8));
    w.finish();
    return d;
  }
  const manifestOf = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));

  it.each([...ESCAPES, '/tmp/x.arrow', 'sub/shard.arrow', '.', ''])('refuses shard %j', (file) => {
    const d = capture();
    const m = manifestOf(d);
    // The escaping target exists, so only the check stands between the reader and it.
    fs.copyFileSync(path.join(d, m.shards[0].file), path.join(path.dirname(d), 'outside.arrow'));
    m.shards[0].file = file;
    fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
    expectRefusal(() => openCapture(d), FileFormatError, path.join(d, 'manifest.json'), /escapes it|must be a string/);
  });

  it('refuses a shard that is a symlink to a file outside the capture directory', () => {
    const d = capture();
    const shard = manifestOf(d).shards[0].file;
    const outside = path.join(dir('elsewhere'), shard);
    fs.renameSync(path.join(d, shard), outside);
    fs.symlinkSync(outside, path.join(d, shard));
    expectRefusal(() => openCapture(d), FileFormatError, path.join(d, shard), /link to .* outside the capture directory/);
  });

  it('still opens a capture whose directory is reached through a symlink', () => {
    const d = capture();
    const link = path.join(dir('via'), 'link');
    fs.symlinkSync(d, link);
    const c = openCapture(link);
    expect(c.rows).toBeGreaterThan(0);
    c.close();
  });
});

describe('model.safetensors.index.json: weight_map shard names', () => {
  function sharded(): string {
    const d = dir('model');
    writeSafetensors(path.join(d, 'model-00001-of-00001.safetensors'), { w: { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) } });
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: 'model-00001-of-00001.safetensors' } }));
    return d;
  }

  it.each([...ESCAPES, ''])('refuses shard %j', (shard) => {
    const d = sharded();
    // A real safetensors file at the place the escape points to (where one can be made).
    fs.copyFileSync(path.join(d, 'model-00001-of-00001.safetensors'), path.join(path.dirname(d), 'outside.safetensors'));
    const index = path.join(d, 'model.safetensors.index.json');
    fs.writeFileSync(index, JSON.stringify({ weight_map: { w: shard } }));
    expectRefusal(() => openShardedSafetensors(index), ModelFormatError, index, /outside the model directory/);
    expectRefusal(() => openModelWeights(d), ModelFormatError, index, /outside the model directory/);
  });

  it('refuses an escape in any entry, not only the first', () => {
    const d = sharded();
    const index = path.join(d, 'model.safetensors.index.json');
    fs.writeFileSync(index, JSON.stringify({ weight_map: { w: 'model-00001-of-00001.safetensors', v: '../outside.safetensors' } }));
    expectRefusal(() => openShardedSafetensors(index), ModelFormatError, index, /"\.\.\/outside\.safetensors", which is outside the model directory/);
  });

  it('follows symlinked shards, as the Hugging Face cache lays out snapshots (links into ../../blobs)', () => {
    // The refusal is lexical on purpose: snapshot files are links to blobs outside the snapshot.
    const d = sharded();
    const blobs = dir('blobs');
    fs.renameSync(path.join(d, 'model-00001-of-00001.safetensors'), path.join(blobs, 'abc123'));
    fs.symlinkSync(path.relative(d, path.join(blobs, 'abc123')), path.join(d, 'model-00001-of-00001.safetensors'));
    const w = openShardedSafetensors(path.join(d, 'model.safetensors.index.json'));
    expect(Array.from(w.readF32('w'))).toEqual([1, 2]);
  });
});

describe('reports/index.json: page paths', () => {
  it('drops entries whose page path leaves the reports directory, keeps the rest', async () => {
    const reports = dir('reports');
    fs.writeFileSync(path.join(reports, 'good.html'), '<html></html>');
    // Pages that exist at the escaping paths, so only the check keeps them out of the index.
    fs.writeFileSync(path.join(path.dirname(reports), 'evil.html'), '<html></html>');
    const entry = (name: string, p: string) => ({ name, title: name, kind: 'capture', path: p, createdAt: '2026-01-01T00:00:00Z' });
    const hostile = ['../evil.html', path.join(path.dirname(reports), 'evil.html'), 'sub/../../evil.html', '..\\evil.html', 'C:\\evil.html'];
    fs.writeFileSync(
      path.join(reports, 'index.json'),
      JSON.stringify({ format: 'interp-report-index', version: 1, reports: [entry('good', 'good.html'), ...hostile.map((p, i) => entry(`evil${i}`, p))] }),
    );
    expect((await listReports(reports)).map((e) => e.name)).toEqual(['good']);
    await updateIndex(reports);
    const page = fs.readFileSync(path.join(reports, 'index.html'), 'utf8');
    expect(page).toContain('good.html');
    expect(page).not.toContain('evil');
  });
});
