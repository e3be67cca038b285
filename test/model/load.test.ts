import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelFormatError, UsageError } from '../../src/errors.js';
import { openModel, openModelDir } from '../../src/model/load.js';
import { repoCacheFolder } from '../../src/model/hub.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { byteLevelBpeJson, fixturesDir, haveFixtures, tempDir, writeFile } from './helpers.js';

/** A complete small model folder: config, generation config, tokenizer, one weight. */
function modelDir(dir = tempDir()): string {
  writeFile(dir, 'config.json', JSON.stringify({ model_type: 'gpt2', n_layer: 1, bos_token_id: 7, eos_token_id: 7 }));
  writeFile(dir, 'generation_config.json', JSON.stringify({ eos_token_id: [7, 8] }));
  writeFile(dir, 'tokenizer.json', JSON.stringify(byteLevelBpeJson().json));
  writeSafetensors(path.join(dir, 'model.safetensors'), { 'wte.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } });
  return dir;
}

describe.skipIf(!haveFixtures)('fixtures', () => {
  it('opens gpt2-tiny: config, 40 tensors, no tokenizer, generation ids from config.json', async () => {
    const m = await openModel(path.join(fixturesDir, 'gpt2-tiny'));
    expect(m.dir).toBe(path.join(fixturesDir, 'gpt2-tiny'));
    expect(m.hubId).toBeNull();
    expect(m.revision).toBeNull();
    expect(m.config.model_type).toBe('gpt2');
    expect(m.weights.tensors.size).toBe(40);
    expect(m.weights.info('wte.weight').shape).toEqual([512, 64]);
    expect(m.tokenizer).toBeNull();
    expect(m.generation).toEqual({ bosTokenId: 0, eosTokenIds: [0], padTokenId: null });
    expect(m.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('opens llama-stories260K with bos 1 and eos 2', async () => {
    const m = await openModel(path.join(fixturesDir, 'llama-stories260K'));
    expect(m.config.model_type).toBe('llama');
    expect(m.weights.tensors.size).toBe(48);
    expect(m.generation).toEqual({ bosTokenId: 1, eosTokenIds: [2], padTokenId: null });
    expect(m.weights.readF32('model.norm.weight')).toHaveLength(64);
  });
});

describe('openModel on a local directory', () => {
  it('returns config, weights, tokenizer and generation defaults', async () => {
    const dir = modelDir();
    const m = await openModel(dir);
    expect(m.tokenizer?.encode('hello')).toHaveLength(1);
    expect(m.generation).toEqual({ bosTokenId: 7, eosTokenIds: [7, 8], padTokenId: null });
    expect([...m.weights.readF32('wte.weight')]).toEqual([1, 2, 3, 4]);
  });

  it('resolves a relative path', async () => {
    const dir = modelDir();
    const rel = path.relative(process.cwd(), dir);
    expect((await openModel(rel)).dir).toBe(dir);
  });

  it('hash: stable, changes with config.json or a header, not with weight values', () => {
    const dir = modelDir();
    const h1 = openModelDir(dir).hash;
    expect(openModelDir(dir).hash).toBe(h1);
    // Same header, different values: the hash deliberately reads headers only.
    writeSafetensors(path.join(dir, 'model.safetensors'), { 'wte.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array([5, 6, 7, 8]) } });
    expect(openModelDir(dir).hash).toBe(h1);
    writeSafetensors(path.join(dir, 'model.safetensors'), { 'wte.weight': { dtype: 'F32', shape: [4, 1], data: new Float32Array(4) } });
    const h2 = openModelDir(dir).hash;
    expect(h2).not.toBe(h1);
    writeFile(dir, 'config.json', JSON.stringify({ model_type: 'gpt2', n_layer: 2 }));
    expect(openModelDir(dir).hash).not.toBe(h2);
  });

  it('a missing directory is a UsageError naming it', async () => {
    const missing = path.join(tempDir(), 'nope');
    await expect(openModel(missing)).rejects.toThrow(UsageError);
    await expect(openModel(missing)).rejects.toThrow(`model directory ${missing} does not exist`);
    await expect(openModel('./not-here')).rejects.toThrow(/does not exist/);
  });

  it('a file instead of a directory says to give its folder', async () => {
    const dir = modelDir();
    await expect(openModel(path.join(dir, 'model.safetensors'))).rejects.toThrow(/is a file; expected a model directory/);
  });

  it('refuses a pytorch_model.bin-only directory with the conversion recipe, never unpickling', async () => {
    const dir = tempDir();
    writeFile(dir, 'config.json', JSON.stringify({ model_type: 'gpt2' }));
    // Not a real pickle: if anything tried to parse it, the error would differ.
    writeFile(dir, 'pytorch_model.bin', Buffer.from([0x80, 0x02, 0x63, 0x6f, 0x73, 0x0a]));
    const err = (await openModel(dir).catch((e: unknown) => e)) as ModelFormatError;
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toContain('pytorch_model.bin');
    expect(err.message).toContain('never loads');
    expect(err.fix).toContain('from transformers import AutoModelForCausalLM');
    expect(err.fix).toContain('save_pretrained(out_dir, safe_serialization=True)');
  });

  it('a directory without config.json says a Hugging Face model folder is expected', async () => {
    const dir = tempDir();
    writeFile(dir, 'weights.txt', 'x');
    await expect(openModel(dir)).rejects.toThrow(/no config.json \(expected a Hugging Face model folder/);
  });
});

describe('openModel on a hub id', () => {
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => {
    saved = { ...process.env };
  });
  afterEach(() => {
    process.env = saved;
  });

  it('opens a cached snapshot and records hub id and commit', async () => {
    const cache = tempDir();
    const commit = 'c'.repeat(40);
    const snapshot = path.join(repoCacheFolder(cache, 'org/tiny-model'), 'snapshots', commit);
    modelDir(snapshot);
    fs.mkdirSync(path.join(repoCacheFolder(cache, 'org/tiny-model'), 'refs'));
    fs.writeFileSync(path.join(repoCacheFolder(cache, 'org/tiny-model'), 'refs', 'main'), commit);
    process.env.HF_HUB_CACHE = cache;
    const m = await openModel('org/tiny-model');
    expect(m).toMatchObject({ dir: snapshot, hubId: 'org/tiny-model', revision: commit });
    expect(m.weights.info('wte.weight').file).toBe(path.join(snapshot, 'model.safetensors'));
  });

  it('an uncached hub id without --download is a UsageError, and nothing is fetched', async () => {
    process.env.HF_HUB_CACHE = tempDir();
    const err = (await openModel('org/never-downloaded', { fetch: () => { throw new Error('network used'); } }).catch((e: unknown) => e)) as UsageError;
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('is not in the Hugging Face cache');
    expect(err.fix).toContain('--download');
  });

  it('a spec that is neither a directory nor a hub id', async () => {
    await expect(openModel('a/b/c')).rejects.toThrow(/is not a hub id/);
  });
});
