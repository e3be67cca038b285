import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ModelFormatError, UsageError } from '../../src/errors.js';
import {
  hubCacheDir,
  lookupCachedModel,
  parseHubId,
  repoCacheFolder,
  resolveHubModel,
} from '../../src/model/hub.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { fakeHub } from '../helpers/fake-hub.js';
import { tempDir, wordLevelJson } from './helpers.js';

const COMMIT = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);

/**
 * Lays out `files` as huggingface_hub does: blobs/<sha> holding the bytes, snapshots/<commit>/<name>
 * relative symlinks to them, refs/<ref> holding the commit.
 */
function cacheModel(cache: string, repoId: string, commit: string, files: Record<string, string | Uint8Array>, ref: string | null = 'main'): string {
  const repo = repoCacheFolder(cache, repoId);
  const snapshot = path.join(repo, 'snapshots', commit);
  fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  for (const [name, bytes] of Object.entries(files)) {
    const etag = crypto.createHash('sha256').update(bytes).digest('hex');
    fs.writeFileSync(path.join(repo, 'blobs', etag), bytes);
    const link = path.join(snapshot, name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(repo, 'blobs', etag)), link);
  }
  if (ref) {
    fs.mkdirSync(path.dirname(path.join(repo, 'refs', ref)), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', ref), commit);
  }
  return snapshot;
}

describe('parseHubId', () => {
  it.each([
    ['gpt2', 'gpt2', 'main'],
    ['EleutherAI/pythia-70m', 'EleutherAI/pythia-70m', 'main'],
    ['EleutherAI/pythia-70m@step1000', 'EleutherAI/pythia-70m', 'step1000'],
    [`org/name@${COMMIT}`, 'org/name', COMMIT],
    ['org/name@refs/pr/1', 'org/name', 'refs/pr/1'],
    ['HuggingFaceTB/SmolLM2-135M', 'HuggingFaceTB/SmolLM2-135M', 'main'],
  ])('%s', (spec, repoId, revision) => {
    expect(parseHubId(spec)).toEqual({ repoId, revision });
  });

  it.each(['a/b/c', '../x', 'org/..', 'org/na--me', '/abs/path', 'org/name@', 'org/name@../x', 'with space', ''])('refuses %j', (spec) => {
    expect(() => parseHubId(spec)).toThrow(UsageError);
  });
});

describe('hubCacheDir', () => {
  const home = os.homedir();
  it('follows huggingface_hub: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME, ~/.cache', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/c1', HF_HOME: '/h' })).toBe('/c1');
    expect(hubCacheDir({ HUGGINGFACE_HUB_CACHE: '/c2', HF_HOME: '/h' })).toBe('/c2');
    expect(hubCacheDir({ HF_HOME: '/h' })).toBe('/h/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(hubCacheDir({})).toBe(path.join(home, '.cache', 'huggingface', 'hub'));
  });
});

describe('cache resolution', () => {
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => {
    saved = { ...process.env };
  });
  afterEach(() => {
    process.env = saved;
  });

  it('resolves refs/main → snapshots/<commit> in HF_HUB_CACHE, without any network', async () => {
    const cache = tempDir();
    const snapshot = cacheModel(cache, 'org/tiny', COMMIT, { 'config.json': '{"model_type":"gpt2"}' });
    process.env.HF_HUB_CACHE = cache;
    const fetchSpy = vi.fn();
    const got = await resolveHubModel('org/tiny', { fetch: fetchSpy });
    expect(got).toEqual({ repoId: 'org/tiny', commit: COMMIT, dir: snapshot });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('honours HF_HOME (cache under $HF_HOME/hub) and single-name ids like gpt2', async () => {
    const home = tempDir();
    const snapshot = cacheModel(path.join(home, 'hub'), 'gpt2', COMMIT, { 'config.json': '{}' });
    delete process.env.HF_HUB_CACHE;
    delete process.env.HUGGINGFACE_HUB_CACHE;
    process.env.HF_HOME = home;
    expect(snapshot).toContain(path.join('hub', 'models--gpt2', 'snapshots'));
    expect((await resolveHubModel('gpt2')).dir).toBe(snapshot);
  });

  it('resolves a branch or tag through refs/<name>, and a commit hash directly', () => {
    const cache = tempDir();
    cacheModel(cache, 'org/tiny', COMMIT, { 'config.json': '{}' });
    const step = cacheModel(cache, 'org/tiny', OTHER, { 'config.json': '{}' }, 'step1000');
    expect(lookupCachedModel(parseHubId('org/tiny@step1000'), cache)).toMatchObject({ found: true, snapshot: { dir: step, commit: OTHER } });
    expect(lookupCachedModel(parseHubId(`org/tiny@${OTHER}`), cache)).toMatchObject({ found: true, snapshot: { dir: step } });
  });

  it('not cached and no download → UsageError naming the paths tried and --download', async () => {
    const cache = tempDir();
    const fetchSpy = vi.fn();
    const attempt = resolveHubModel('org/absent', { cacheDir: cache, fetch: fetchSpy });
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(resolveHubModel('org/absent', { cacheDir: cache })).rejects.toThrow(
      path.join(cache, 'models--org--absent', 'refs', 'main'),
    );
    const err = (await resolveHubModel('org/absent@v2', { cacheDir: cache }).catch((e: unknown) => e)) as UsageError;
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(`org/absent@v2 is not in the Hugging Face cache at ${cache}`);
    expect(err.fix).toContain('--download');
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('reports a ref whose snapshot has no config.json, and a corrupt ref', async () => {
    const cache = tempDir();
    const repo = repoCacheFolder(cache, 'org/half');
    fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', 'main'), COMMIT);
    await expect(resolveHubModel('org/half', { cacheDir: cache })).rejects.toThrow(/snapshot a{40} has no config.json/);
    fs.writeFileSync(path.join(repo, 'refs', 'main'), 'garbage');
    await expect(resolveHubModel('org/half', { cacheDir: cache })).rejects.toThrow(/not a commit hash/);
  });
});


function safetensorsBytes(dir: string, tensors: Parameters<typeof writeSafetensors>[1]): Uint8Array {
  const file = path.join(dir, `${crypto.randomUUID()}.safetensors`);
  writeSafetensors(file, tensors);
  return fs.readFileSync(file);
}

describe('download (fake hub, download: true only)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const quiet = () => vi.spyOn(console, 'error').mockImplementation(() => {});

  it('fetches config, tokenizer and weights into the cache layout, and writes refs/main', async () => {
    const stderr = quiet();
    const cache = tempDir();
    const weights = safetensorsBytes(tempDir(), { w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    const enc = (s: string) => Buffer.from(s);
    const { fetchImpl, calls } = fakeHub('org/tiny', COMMIT, {
      'config.json': enc('{"model_type":"gpt2"}'),
      'tokenizer.json': enc(JSON.stringify(wordLevelJson())),
      'model.safetensors': weights,
      'README.md': enc('# not fetched'),
    });
    const got = await resolveHubModel('org/tiny', { cacheDir: cache, download: true, fetch: fetchImpl });
    const repo = repoCacheFolder(cache, 'org/tiny');
    expect(got).toEqual({ repoId: 'org/tiny', commit: COMMIT, dir: path.join(repo, 'snapshots', COMMIT) });
    expect(fs.readFileSync(path.join(repo, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    expect(fs.readdirSync(got.dir).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    expect(fs.lstatSync(path.join(got.dir, 'model.safetensors')).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(got.dir, 'model.safetensors'))).toEqual(Buffer.from(weights));
    expect(fs.readdirSync(path.join(repo, 'blobs')).some((f) => f.endsWith('.incomplete'))).toBe(false);
    expect(calls.some((c) => c.includes('README.md'))).toBe(false);
    // The library's progress lines went to stderr (console.error), keeping stdout clean for --json.
    expect(stderr.mock.calls.some((args) => String(args[0]).includes('Downloading'))).toBe(true);
    expect(console.debug).not.toBe(stderr);

    // Now cached: a second resolve needs no network at all.
    const offline = vi.fn();
    expect(await resolveHubModel('org/tiny', { cacheDir: cache, fetch: offline })).toEqual(got);
    expect(offline).not.toHaveBeenCalled();
  });

  it('fetches the shard index and every shard it names', async () => {
    quiet();
    const cache = tempDir();
    const tmp = tempDir();
    const s1 = safetensorsBytes(tmp, { a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
    const s2 = safetensorsBytes(tmp, { b: { dtype: 'F32', shape: [1], data: new Float32Array([2]) } });
    const index = { weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } };
    const { fetchImpl } = fakeHub('org/sharded', COMMIT, {
      'config.json': Buffer.from('{"model_type":"llama"}'),
      'model.safetensors.index.json': Buffer.from(JSON.stringify(index)),
      'model-00001-of-00002.safetensors': s1,
      'model-00002-of-00002.safetensors': s2,
    });
    const got = await resolveHubModel('org/sharded', { cacheDir: cache, download: true, fetch: fetchImpl });
    expect(fs.readdirSync(got.dir).sort()).toEqual([
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
    ]);
  });

  it('refuses a repository with only pickled weights before fetching anything large', async () => {
    quiet();
    const { fetchImpl, calls } = fakeHub('org/old', COMMIT, {
      'config.json': Buffer.from('{"model_type":"gpt2"}'),
      'pytorch_model.bin': Buffer.from('pickle'),
    });
    const attempt = resolveHubModel('org/old', { cacheDir: tempDir(), download: true, fetch: fetchImpl });
    await expect(attempt).rejects.toThrow(ModelFormatError);
    await expect(resolveHubModel('org/old', { cacheDir: tempDir(), download: true, fetch: fetchImpl })).rejects.toThrow(
      /pickled weights \(pytorch_model.bin\), which interp never loads/,
    );
    expect(calls.some((c) => c.includes('resolve'))).toBe(false);
  });

  it('an unreachable hub is an InterpError saying what to check', async () => {
    const failing = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    await expect(resolveHubModel('org/x', { cacheDir: tempDir(), download: true, fetch: failing })).rejects.toThrow(
      /cannot reach the hub for org\/x@main \(fetch failed\)/,
    );
  });
});
