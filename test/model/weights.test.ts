import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { openModelWeights, openSafetensors, openShardedSafetensors } from '../../src/model/weights.js';
import { fixturesDir, haveFixtures, tempDir, writeFile } from './helpers.js';

const f32 = (...v: number[]) => new Float32Array(v);

/** Two shards and an index: a, b in shard 1; c in shard 2. */
function shardedDir(weightMap?: Record<string, string>): string {
  const dir = tempDir();
  writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), {
    a: { dtype: 'F32', shape: [2], data: f32(1, 2) },
    b: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
  });
  writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), {
    c: { dtype: 'F32', shape: [1, 3], data: f32(3, 4, 5) },
  });
  const map = weightMap ?? {
    a: 'model-00001-of-00002.safetensors',
    b: 'model-00001-of-00002.safetensors',
    c: 'model-00002-of-00002.safetensors',
  };
  writeFile(dir, 'model.safetensors.index.json', JSON.stringify({ metadata: { total_size: 24 }, weight_map: map }));
  return dir;
}

describe('single file', () => {
  it.skipIf(!haveFixtures)('indexes gpt2-tiny and reads tensors on demand', () => {
    const w = openSafetensors(path.join(fixturesDir, 'gpt2-tiny', 'model.safetensors'));
    expect(w.tensors.size).toBe(40);
    expect([...w.tensors.keys()].slice(0, 2)).toEqual(['wte.weight', 'wpe.weight']); // file order
    expect(w.info('h.0.attn.c_attn.bias').shape).toEqual([192]);
    expect(w.readF32('ln_f.weight')).toHaveLength(64);
    expect(() => w.info('lm_head.weight')).toThrow(/no tensor named "lm_head.weight"/);
    expect(() => w.readInts('wte.weight')).toThrow(ModelFormatError);
  });

  it('suggests similar names for a missing key', () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.safetensors');
    writeSafetensors(file, { 'transformer.wte.weight': { dtype: 'F32', shape: [1], data: f32(1) } });
    expect(() => openSafetensors(file).info('wte.weight')).toThrow(/similar: "transformer.wte.weight"/);
  });
});

describe('sharded checkpoints (model.safetensors.index.json)', () => {
  it('indexes every tensor across shards and reads from the right file', () => {
    const dir = shardedDir();
    const w = openShardedSafetensors(path.join(dir, 'model.safetensors.index.json'));
    expect([...w.tensors.keys()]).toEqual(['a', 'b', 'c']);
    expect(w.headers).toHaveLength(2);
    expect(path.basename(w.info('c').file)).toBe('model-00002-of-00002.safetensors');
    expect([...w.readF32('a')]).toEqual([1, 2]);
    expect([...w.readF32('b')]).toEqual([1]);
    expect([...w.readF32('c')]).toEqual([3, 4, 5]);
    expect(openModelWeights(dir).source).toBe(path.join(dir, 'model.safetensors.index.json'));
  });

  it.each([
    ['a parent directory', '../model-00001-of-00002.safetensors'],
    ['a nested parent segment', 'sub/../../x.safetensors'],
    ['an absolute path', '/etc/passwd'],
    ['a Windows absolute path', 'C:\\Windows\\x.safetensors'],
    ['a backslash parent', '..\\x.safetensors'],
  ])('refuses a shard path through %s', (_, shard) => {
    const dir = shardedDir({ a: shard });
    expect(() => openModelWeights(dir)).toThrow(ModelFormatError);
    expect(() => openModelWeights(dir)).toThrow(/outside the model directory/);
  });

  it('refuses missing shards, listing them', () => {
    const dir = shardedDir();
    fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    expect(() => openModelWeights(dir)).toThrow(/1 of 2 shards are missing: model-00002-of-00002.safetensors/);
  });

  it('refuses a name mapped to a shard that lacks it', () => {
    const dir = shardedDir({ a: 'model-00001-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' });
    expect(() => openModelWeights(dir)).toThrow(/assigns 1 tensors to model-00001-of-00002.safetensors, which does not contain them: "c"/);
  });

  it.each([
    ['not JSON', '{"weight_map": '],
    ['no weight_map', '{"metadata": {}}'],
    ['a non-string shard', '{"weight_map": {"a": 3}}'],
  ])('refuses an index that is %s, naming it', (_, text) => {
    const dir = tempDir();
    const index = writeFile(dir, 'model.safetensors.index.json', text);
    expect(() => openModelWeights(dir)).toThrow(ModelFormatError);
    expect(() => openModelWeights(dir)).toThrow(index);
  });

  it('follows symlinked shards, as in the Hugging Face cache', () => {
    const root = tempDir();
    const dir = shardedDir();
    const snapshot = path.join(root, 'snapshots', 'abc');
    fs.mkdirSync(snapshot, { recursive: true });
    for (const f of fs.readdirSync(dir)) fs.symlinkSync(path.join(dir, f), path.join(snapshot, f));
    expect([...openModelWeights(snapshot).readF32('c')]).toEqual([3, 4, 5]);
  });
});

describe('directories without safetensors weights', () => {
  it.each(['pytorch_model.bin', 'model.pt', 'weights.pth', 'pytorch_model-00001-of-00002.bin'])('refuses %s with the conversion recipe', (name) => {
    const dir = tempDir();
    writeFile(dir, name, 'not a pickle, and never unpickled');
    try {
      openModelWeights(dir);
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(ModelFormatError);
      const e = err as ModelFormatError;
      expect(e.message).toContain(dir);
      expect(e.message).toContain(name);
      expect(e.fix).toContain('save_pretrained(out_dir, safe_serialization=True)');
    }
  });

  it('explains an empty directory and an oddly named safetensors file', () => {
    const dir = tempDir();
    expect(() => openModelWeights(dir)).toThrow(/the directory is empty/);
    writeFile(dir, 'weights.safetensors', '');
    expect(() => openModelWeights(dir)).toThrow(/found weights.safetensors/);
  });
});

describe('memory: opening reads headers only', () => {
  it('opens a 4 GiB (sparse) checkpoint at once and reads one small tensor', () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.safetensors');
    writeSafetensors(file, { small: { dtype: 'F32', shape: [2], data: f32(7, 8) } });
    // Re-point a second, huge tensor at a sparse tail: 2^30 fp32 values after `small`.
    const header = { small: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, huge: { dtype: 'F32', shape: [2 ** 30], data_offsets: [8, 8 + 2 ** 32] } };
    const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' '));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, Buffer.concat([prefix, json, Buffer.from(f32(7, 8).buffer)]));
    fs.ftruncateSync(fd, 8 + json.length + 8 + 2 ** 32);
    fs.closeSync(fd);
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const w = openModelWeights(dir);
    expect(w.info('huge').byteLength).toBe(2 ** 32);
    expect([...w.readF32('small')]).toEqual([7, 8]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});
