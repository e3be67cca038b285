/**
 * SAE releases by name (sae/registry.ts, sae/cli/registry.ts): the shipped registry, RELEASE/ID
 * lookup, offline import from a Hugging Face cache folder built here, refusals, download through a
 * fake hub, and `interp sae list`. Every fake release lives in a registry built here; no test
 * touches the network.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileFormatError, UsageError } from '../../src/errors.js';
import { listHookPoints, type ArchFeature } from '../../src/hooks.js';
import { loadSae, saveSae } from '../../sae/io.js';
import {
  RELEASE_LAYOUTS, findReleaseSae, importReleaseSae, isInterpHookName, isReleaseForModel, loadRegistry, parseRegistry, resolveReleaseSae,
  type Release,
} from '../../sae/registry.js';
import { saeList } from '../../sae/cli/registry.js';
import type { Sae } from '../../sae/sae.js';
import { runCli } from '../helpers/cli.js';
import { fakeHub } from '../helpers/fake-hub.js';
import { npyBytes, npyHeader, zip } from '../helpers/npz.js';
import { randomSae, tempDir } from './helpers.js';

const COMMIT = 'c0ffee'.padEnd(40, '0');
const NEWER = 'd'.repeat(40);
const [d, m] = [6, 16];

/** Every architecture feature, so that the inventory holds every hook any family has. */
const ALL_FEATURES: readonly ArchFeature[] = ['absolute_positions', 'rotary', 'gated_mlp', 'sequential_block', 'post_norms', 'qk_norm', 'embed_scale'];
const INTERP_HOOKS = new Set(listHookPoints({ nLayers: 128, features: new Set(ALL_FEATURES) }).map((p) => p.name));

const REGISTRY_DOC = {
  format: 'interp.sae-releases',
  format_version: 1,
  source: { repo: 'test/registry', path: 'pretrained_saes.yaml', commit: '1234567' },
  releases: {
    'toy-res': {
      repo_id: 'org/toy-saes', model: 'gpt2-small', conversion_func: null, layout: 'saelens',
      saes: [
        { id: 'blocks.0.hook_resid_post', path: 'blocks.0.hook_resid_post', hook: 'blocks.0.hook_resid_post', l0: 12, neuronpedia: 'gpt2-small/0-toy' },
        { id: 'blocks.1.hook_resid_post', path: 'nested/v5_layer_1.pt', hook: 'blocks.1.hook_resid_post' },
      ],
    },
    'toy-mlp': {
      repo_id: 'org/toy-mlp-saes', model: 'gpt2-small', conversion_func: null, layout: 'saelens',
      saes: [{ id: 'blocks.0.hook_mlp_out', path: 'layer_0', hook: 'blocks.0.hook_mlp_out' }],
    },
    'toy-scope-res': {
      repo_id: 'org/toy-scope-res', model: 'gemma-2-2b', conversion_func: 'gemma_2', layout: 'gemma-scope',
      saes: [
        { id: 'layer_12/width_16k/average_l0_71', path: 'layer_12/width_16k/average_l0_71', hook: 'blocks.12.hook_resid_post', l0: 71 },
        { id: 'layer_12/width_16k/average_l0_176', path: 'layer_12/width_16k/average_l0_176', hook: 'blocks.12.hook_resid_post', l0: 176 },
      ],
    },
    'toy-transcoders': {
      repo_id: 'org/toy-transcoders', model: 'gemma-2-2b', conversion_func: 'gemma_2_transcoder', layout: 'gemma-scope-transcoder',
      saes: [{ id: 'layer_3/width_16k/average_l0_54', path: 'layer_3/width_16k/average_l0_54', hook: 'blocks.3.ln2.hook_normalized', hook_out: 'blocks.3.hook_mlp_out' }],
    },
    'toy-llama': {
      repo_id: 'org/toy-llama-lxr', model: 'meta-llama/Llama-3.1-8B', conversion_func: 'llama_scope', layout: 'llama-scope',
      saes: [{ id: 'l5r_8x', path: 'Llama3_1-8B-Base-L5R-8x', hook: 'blocks.5.hook_resid_post', norm_scaling_factor: 1.5 }],
    },
  },
};

const registry = parseRegistry(REGISTRY_DOC, 'test-registry.json');

/** A registry document with one field of one SAE replaced. */
function withSae(release: keyof typeof REGISTRY_DOC.releases, patch: Record<string, unknown>): unknown {
  const doc = structuredClone(REGISTRY_DOC) as { releases: Record<string, { saes: Record<string, unknown>[] }> };
  doc.releases[release].saes[0] = { ...doc.releases[release].saes[0], ...patch };
  return doc;
}

/** Writes the test registry to a file, for the CLI's --registry. */
function registryFile(): string {
  const file = path.join(tempDir('registry'), 'releases.json');
  fs.writeFileSync(file, JSON.stringify(REGISTRY_DOC));
  return file;
}

/**
 * An SAE in a Hugging Face cache folder as huggingface_hub lays it out:
 * models--ORG--NAME/refs/main → COMMIT, snapshots/COMMIT/<sae path>/cfg.json + sae_weights.safetensors.
 */
function cacheSae(cache: string, repoId: string, saePath: string, sae: Sae, commit = COMMIT): string {
  const repo = path.join(cache, `models--${repoId.replace('/', '--')}`);
  const dir = path.join(repo, 'snapshots', commit, ...saePath.split('/'));
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  saveSae(dir, sae);
  fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'refs', 'main'), commit);
  return dir;
}

/** A small random TopK SAE whose own cfg.json names another hook and model than the registry. */
function toySae(seed = 4): Sae {
  const sae = randomSae('topk', d, m, seed);
  return { ...sae, cfg: { ...sae.cfg, metadata: { ...sae.cfg.metadata, hook_name: 'blocks.9.hook_resid_pre', model_name: 'not-the-registry-model' } } };
}

const readCfg = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8'));

describe('the shipped registry (sae/releases.json)', () => {
  const shipped = loadRegistry();

  it('parses, and every SAE names a hook point interp declares', () => {
    expect(shipped.releases.size).toBeGreaterThan(0);
    for (const release of shipped.releases.values()) {
      expect(RELEASE_LAYOUTS).toContain(release.layout);
      for (const sae of release.saes) {
        expect(INTERP_HOOKS.has(sae.hook), `${release.name}/${sae.id}: ${sae.hook}`).toBe(true);
        if (sae.hook_out !== undefined) expect(INTERP_HOOKS.has(sae.hook_out), `${release.name}/${sae.id}: ${sae.hook_out}`).toBe(true);
      }
    }
  });

  it('carries what each layout needs: Llama Scope norm scaling factors, transcoder output hooks', () => {
    for (const release of shipped.releases.values()) {
      for (const sae of release.saes) {
        if (release.layout === 'llama-scope') expect(sae.norm_scaling_factor, `${release.name}/${sae.id}`).toBeGreaterThan(0);
        if (release.layout === 'gemma-scope-transcoder') expect(sae.hook_out, `${release.name}/${sae.id}`).toMatch(/^blocks\.\d+\.hook_mlp_out$/);
      }
    }
  });
});

describe('isInterpHookName', () => {
  it.each(['hook_embed', 'blocks.0.hook_resid_pre', 'blocks.12.hook_resid_post', 'blocks.3.attn.hook_z', 'blocks.3.ln2.hook_normalized', 'blocks.31.hook_mlp_out'])('accepts %s', (name) => {
    expect(isInterpHookName(name)).toBe(true);
    expect(INTERP_HOOKS.has(name)).toBe(true);
  });
  it.each(['resid_post.6', 'blocks.x.hook_resid_post', 'blocks.01.hook_resid_post', 'blocks.1.hook_mlp_in', 'blocks.1.hook_resid_postX', 'blocks.1.hook_resid.post', ''])('refuses %j', (name) => {
    expect(isInterpHookName(name)).toBe(false);
  });
});

describe('parseRegistry', () => {
  it('reads releases with their optional fields', () => {
    expect([...registry.releases.keys()]).toEqual(Object.keys(REGISTRY_DOC.releases));
    expect(registry.releases.get('toy-res')!.saes[0]).toEqual({ id: 'blocks.0.hook_resid_post', path: 'blocks.0.hook_resid_post', hook: 'blocks.0.hook_resid_post', l0: 12, neuronpedia: 'gpt2-small/0-toy' });
    expect(registry.releases.get('toy-llama')!.saes[0].norm_scaling_factor).toBe(1.5);
    expect(registry.releases.get('toy-transcoders')!.saes[0].hook_out).toBe('blocks.3.hook_mlp_out');
  });

  it.each(['../outside', 'layer_0/../../x', '/abs/path', 'a//b', 'a\\b', '.'])('refuses an SAE path %j that could leave the repository', (bad) => {
    expect(() => parseRegistry(withSae('toy-res', { path: bad }), 'r.json')).toThrow(FileFormatError);
    expect(() => parseRegistry(withSae('toy-res', { path: bad }), 'r.json')).toThrow(/releases\["toy-res"\]\.saes\[0\]\.path/);
  });

  it('refuses hook names interp does not declare, naming the entry', () => {
    expect(() => parseRegistry(withSae('toy-res', { hook: 'blocks.0.hook_resid' }), 'r.json')).toThrow(/releases\["toy-res"\]\.saes\[0\]\.hook .*"blocks\.0\.hook_resid"/);
    expect(() => parseRegistry(withSae('toy-transcoders', { hook_out: 'mlp_out.3' }), 'r.json')).toThrow(/hook_out/);
  });

  it('refuses an unknown layout, a duplicate id and another format', () => {
    const doc = structuredClone(REGISTRY_DOC) as { releases: Record<string, Record<string, unknown>>; format_version: number };
    doc.releases['toy-res'].layout = 'pickle';
    expect(() => parseRegistry(doc, 'r.json')).toThrow(/layout is "pickle"/);
    const dup = structuredClone(REGISTRY_DOC);
    dup.releases['toy-res'].saes[1] = { ...dup.releases['toy-res'].saes[0] };
    expect(() => parseRegistry(dup, 'r.json')).toThrow(/duplicate/);
    expect(() => parseRegistry({ ...REGISTRY_DOC, format_version: 2 }, 'r.json')).toThrow(FileFormatError);
  });
});

describe('findReleaseSae', () => {
  it('splits RELEASE/ID where the id itself contains "/"', () => {
    const { release, sae } = findReleaseSae('toy-scope-res/layer_12/width_16k/average_l0_71', registry);
    expect(release.name).toBe('toy-scope-res');
    expect(sae).toMatchObject({ id: 'layer_12/width_16k/average_l0_71', hook: 'blocks.12.hook_resid_post' });
    expect(findReleaseSae('toy-res/blocks.1.hook_resid_post', registry).sae.path).toBe('nested/v5_layer_1.pt');
  });

  it('takes the longest release name that prefixes the spec', () => {
    const nested = parseRegistry(
      { ...REGISTRY_DOC, releases: { a: REGISTRY_DOC.releases['toy-mlp'], 'a/b': { ...REGISTRY_DOC.releases['toy-mlp'], saes: [{ id: 'c', path: 'c', hook: 'blocks.0.hook_mlp_out' }] } } },
      'nested.json',
    );
    expect(findReleaseSae('a/b/c', nested).release.name).toBe('a/b');
    expect(findReleaseSae('a/blocks.0.hook_mlp_out', nested).release.name).toBe('a');
  });

  it('suggests close release names for a typo', () => {
    expect(() => findReleaseSae('toy-scop-res/layer_12/width_16k/average_l0_71', registry)).toThrow(UsageError);
    expect(() => findReleaseSae('toy-scop-res/layer_12/width_16k/average_l0_71', registry)).toThrow(/close releases: toy-scope-res/);
  });

  it('suggests close ids for a typo in the id', () => {
    expect(() => findReleaseSae('toy-scope-res/layer_12/width_16k/average_l0_70', registry)).toThrow(/no SAE "layer_12\/width_16k\/average_l0_70"; close ids: layer_12\/width_16k\/average_l0_71/);
  });

  it('a release without an id says how to name one', () => {
    expect(() => findReleaseSae('toy-res', registry)).toThrow(/"toy-res" is a release, not an SAE: give RELEASE\/ID, e.g\. toy-res\/blocks\.0\.hook_resid_post/);
  });
});

describe('isReleaseForModel', () => {
  const release = (model: string) => ({ ...registry.releases.get('toy-res')!, model }) as Release;
  it.each([
    ['gemma-2-2b', 'gemma-2-2b', true],
    ['gemma-2-2b', 'google/gemma-2-2b', true],
    ['meta-llama/Llama-3.1-8B', 'llama-3.1-8b', true],
    ['gpt2-small', 'gpt2', true],
    ['gpt2-small', 'openai-community/gpt2', true],
    ['gemma-2-2b', 'gemma-2-9b', false],
    ['gpt2-small', 'gpt2-medium', false],
  ])('%s for --model %s: %s', (model, query, expected) => {
    expect(isReleaseForModel(release(model), query)).toBe(expected);
  });
});

describe('import RELEASE/ID from the Hugging Face cache (offline)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('finds the snapshot through refs/main, writes the registry hook and model, and uses no network', async () => {
    const cache = tempDir('hf');
    const sae = toySae();
    cacheSae(cache, 'org/toy-saes', 'nested/v5_layer_1.pt', sae);
    const out = path.join(tempDir('out'), 'sae');
    const offline = vi.fn();
    const { resolved } = await importReleaseSae('toy-res/blocks.1.hook_resid_post', out, { registry, cacheDir: cache, fetch: offline as unknown as typeof fetch });
    expect(offline).not.toHaveBeenCalled();
    expect(resolved.provenance).toEqual({ release: 'toy-res', sae_id: 'blocks.1.hook_resid_post', repo_id: 'org/toy-saes', revision: COMMIT, path: 'nested/v5_layer_1.pt' });
    expect(resolved.dir).toBe(path.join(cache, 'models--org--toy-saes', 'snapshots', COMMIT, 'nested', 'v5_layer_1.pt'));
    const cfg = readCfg(out);
    expect(cfg.metadata.hook_name).toBe('blocks.1.hook_resid_post');
    expect(cfg.metadata.model_name).toBe('gpt2-small');
    const back = loadSae(out).sae;
    expect([...back.weights.W_enc]).toEqual([...sae.weights.W_enc]);
    expect([...back.weights.b_dec]).toEqual([...sae.weights.b_dec]);
  });

  it('records where the SAE came from in cfg.json (metadata.interp_imported_from)', async () => {
    const cache = tempDir('hf');
    cacheSae(cache, 'org/toy-saes', 'blocks.0.hook_resid_post', toySae());
    const out = path.join(tempDir('out'), 'sae');
    await importReleaseSae('toy-res/blocks.0.hook_resid_post', out, { registry, cacheDir: cache });
    expect(readCfg(out).metadata.interp_imported_from).toMatchObject({
      layout: 'saelens', release: 'toy-res', sae_id: 'blocks.0.hook_resid_post', repo_id: 'org/toy-saes', revision: COMMIT, path: 'blocks.0.hook_resid_post',
    });
  });

  it('--hook and --model override the registry', async () => {
    const cache = tempDir('hf');
    cacheSae(cache, 'org/toy-saes', 'blocks.0.hook_resid_post', toySae());
    const out = path.join(tempDir('out'), 'sae');
    await importReleaseSae('toy-res/blocks.0.hook_resid_post', out, { registry, cacheDir: cache, hook: 'blocks.0.hook_resid_pre', model: 'openai-community/gpt2' });
    expect(readCfg(out).metadata).toMatchObject({ hook_name: 'blocks.0.hook_resid_pre', model_name: 'openai-community/gpt2' });
  });

  it('a transcoder release (Gemma Scope params.npz) is written with the registry\'s input and output hooks', async () => {
    const cache = tempDir('hf');
    const w = randomSae('jumprelu', d, m, 11).weights;
    const folder = path.join(cache, 'models--org--toy-transcoders', 'snapshots', COMMIT, 'layer_3', 'width_16k', 'average_l0_54');
    fs.mkdirSync(folder, { recursive: true });
    const arrays = { W_enc: [w.W_enc, [d, m]], W_dec: [w.W_dec, [m, d]], b_enc: [w.b_enc, [m]], b_dec: [w.b_dec, [d]], threshold: [w.threshold!, [m]] } as const;
    const files = Object.entries(arrays).map(([name, [data, shape]]) => ({ name: `${name}.npy`, data: npyBytes(npyHeader('<f4', shape), Buffer.from(data.buffer, data.byteOffset, data.byteLength)) }));
    fs.writeFileSync(path.join(folder, 'params.npz'), zip(files, false));
    fs.mkdirSync(path.join(cache, 'models--org--toy-transcoders', 'refs'));
    fs.writeFileSync(path.join(cache, 'models--org--toy-transcoders', 'refs', 'main'), COMMIT);
    const out = path.join(tempDir('out'), 'tc');
    await importReleaseSae('toy-transcoders/layer_3/width_16k/average_l0_54', out, { registry, cacheDir: cache });
    const cfg = readCfg(out);
    expect(cfg.d_out).toBe(d);
    expect(cfg.metadata).toMatchObject({ hook_name: 'blocks.3.ln2.hook_normalized', hook_name_out: 'blocks.3.hook_mlp_out', model_name: 'gemma-2-2b' });
    expect(cfg.metadata.interp_imported_from).toMatchObject({ layout: 'gemma-scope-transcoder', release: 'toy-transcoders', path: 'layer_3/width_16k/average_l0_54' });
  });

  it('missing files: one UsageError naming each missing file and --download', async () => {
    const cache = tempDir('hf');
    const dir = cacheSae(cache, 'org/toy-saes', 'blocks.0.hook_resid_post', toySae());
    fs.rmSync(path.join(dir, 'sae_weights.safetensors'));
    const out = path.join(tempDir('out'), 'sae');
    const attempt = importReleaseSae('toy-res/blocks.0.hook_resid_post', out, { registry, cacheDir: cache });
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(importReleaseSae('toy-res/blocks.0.hook_resid_post', out, { registry, cacheDir: cache })).rejects.toThrow(
      /missing: blocks\.0\.hook_resid_post\/sae_weights\.safetensors[^]*--download/,
    );
    // A repository not in the cache at all names the files too.
    await expect(importReleaseSae('toy-mlp/blocks.0.hook_mlp_out', out, { registry, cacheDir: cache })).rejects.toThrow(
      /org\/toy-mlp-saes@main is not in the Hugging Face cache[^]*missing: layer_0\/cfg\.json, layer_0\/sae_weights\.safetensors[^]*--download/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a release entry whose path climbs out of the snapshot is refused before any file is read', async () => {
    const cache = tempDir('hf');
    cacheSae(cache, 'org/toy-saes', 'blocks.0.hook_resid_post', toySae());
    // Bypasses parseRegistry (which refuses it too): resolveReleaseSae checks on its own.
    const release = registry.releases.get('toy-res')!;
    const hostile = { ...release.saes[0], path: '../../models--org--toy-saes/snapshots' };
    await expect(resolveReleaseSae(release, hostile, { cacheDir: cache })).rejects.toThrow(/not a file path inside a hub repository/);
  });
});

/** The files of an SAE folder (cfg.json, sae_weights.safetensors, sparsity.safetensors) keyed by `prefix/NAME`. */
function saeFiles(prefix: string, sae: Sae): Record<string, Uint8Array> {
  const dir = path.join(tempDir('files'), 'sae');
  saveSae(dir, sae, { sparsity: Float32Array.from({ length: sae.cfg.d_sae }, (_, i) => -1 - i / 10) });
  return Object.fromEntries(fs.readdirSync(dir).map((name) => [`${prefix}/${name}`, new Uint8Array(fs.readFileSync(path.join(dir, name)))]));
}

describe('import RELEASE/ID with download (fake hub)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('downloads the layout\'s files (and the optional sparsity) into the cache, then imports; a second import is offline', async () => {
    const progress = vi.spyOn(console, 'error').mockImplementation(() => {});
    const cache = tempDir('hf');
    const sae = toySae(7);
    const { fetchImpl, calls } = fakeHub('org/toy-saes', NEWER, {
      ...saeFiles('blocks.0.hook_resid_post', sae),
      ...saeFiles('blocks.1.hook_resid_post', toySae(8)),
      'README.md': Buffer.from('# not fetched'),
    });
    const out = path.join(tempDir('out'), 'sae');
    const { resolved } = await importReleaseSae('toy-res/blocks.0.hook_resid_post', out, { registry, cacheDir: cache, download: true, fetch: fetchImpl });
    const repo = path.join(cache, 'models--org--toy-saes');
    expect(resolved.provenance.revision).toBe(NEWER);
    expect(fs.readFileSync(path.join(repo, 'refs', 'main'), 'utf8')).toBe(NEWER);
    expect(fs.readdirSync(path.join(repo, 'snapshots', NEWER, 'blocks.0.hook_resid_post')).sort()).toEqual(['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors']);
    expect(fs.existsSync(path.join(repo, 'snapshots', NEWER, 'blocks.1.hook_resid_post'))).toBe(false);
    expect(calls.some((c) => c.includes('README.md') || c.includes('blocks.1.'))).toBe(false);
    expect(progress.mock.calls.some((args) => String(args[0]).includes('Downloading'))).toBe(true);
    expect(readCfg(out).metadata.hook_name).toBe('blocks.0.hook_resid_post');
    const back = loadSae(out);
    expect([...back.sae.weights.W_dec]).toEqual([...sae.weights.W_dec]);
    expect(back.sparsity).not.toBeNull();

    const offline = vi.fn();
    const again = await importReleaseSae('toy-res/blocks.0.hook_resid_post', path.join(tempDir('out'), 'sae'), { registry, cacheDir: cache, download: true, fetch: offline as unknown as typeof fetch });
    expect(offline).not.toHaveBeenCalled();
    expect(again.resolved.provenance.revision).toBe(NEWER);
  });

  it('a required file the hub does not have is named, and nothing is imported', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const files = saeFiles('blocks.0.hook_resid_post', toySae());
    delete files['blocks.0.hook_resid_post/sae_weights.safetensors'];
    const { fetchImpl } = fakeHub('org/toy-saes', NEWER, files);
    const out = path.join(tempDir('out'), 'sae');
    await expect(importReleaseSae('toy-res/blocks.0.hook_resid_post', out, { registry, cacheDir: tempDir('hf'), download: true, fetch: fetchImpl })).rejects.toThrow(
      /org\/toy-saes@d{40} on the hub has no blocks\.0\.hook_resid_post\/sae_weights\.safetensors/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('sae list', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Runs saeList in-process and returns what it printed on stdout. */
  function listed(flags: Parameters<typeof saeList>[0]): string {
    const chunks: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (chunks.push(String(chunk)), true));
    try {
      saeList(flags);
    } finally {
      vi.restoreAllMocks();
    }
    return chunks.join('');
  }

  it('a table of every release: name, model, layout, number of SAEs, repository', () => {
    const text = listed({ registry: registryFile() });
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^release\s+model\s+layout\s+SAEs\s+repository$/);
    expect(lines.find((l) => l.startsWith('toy-scope-res'))).toMatch(/^toy-scope-res\s+gemma-2-2b\s+gemma-scope\s+2\s+org\/toy-scope-res$/);
    expect(lines).toHaveLength(Object.keys(REGISTRY_DOC.releases).length + 2);
  });

  it('--release: the ids of one release with hook, l0 and Neuronpedia id', () => {
    const doc = JSON.parse(listed({ registry: registryFile(), release: 'toy-res', json: true }));
    expect(doc.release).toMatchObject({ name: 'toy-res', model: 'gpt2-small', layout: 'saelens', repo_id: 'org/toy-saes' });
    expect(doc.saes).toEqual([
      { id: 'blocks.0.hook_resid_post', hook: 'blocks.0.hook_resid_post', l0: 12, neuronpedia: 'gpt2-small/0-toy', path: 'blocks.0.hook_resid_post' },
      { id: 'blocks.1.hook_resid_post', hook: 'blocks.1.hook_resid_post', l0: null, neuronpedia: null, path: 'nested/v5_layer_1.pt' },
    ]);
    const text = listed({ registry: registryFile(), release: 'toy-transcoders' });
    expect(text).toMatch(/layer_3\/width_16k\/average_l0_54\s+blocks\.3\.ln2\.hook_normalized\s+blocks\.3\.hook_mlp_out/);
  });

  it('--release with a typo suggests the close name', () => {
    expect(() => listed({ registry: registryFile(), release: 'toy-re' })).toThrow(/no SAE release "toy-re".*close: toy-res/);
  });

  it('`interp sae list --model gpt2-small --json` (CLI) lists only that model\'s releases', async () => {
    const r = await runCli(['sae', 'list', '--model', 'gpt2-small', '--json', '--registry', registryFile()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.model).toBe('gpt2-small');
    expect(doc.releases).toEqual([
      { name: 'toy-res', model: 'gpt2-small', layout: 'saelens', saes: 2, repo_id: 'org/toy-saes' },
      { name: 'toy-mlp', model: 'gpt2-small', layout: 'saelens', saes: 1, repo_id: 'org/toy-mlp-saes' },
    ]);
  });
});

describe('interp sae import RELEASE/ID (CLI, HF_HUB_CACHE)', () => {
  it('imports offline from the cache the environment names, and --json says from where', async () => {
    const cache = tempDir('hf');
    cacheSae(cache, 'org/toy-saes', 'blocks.0.hook_resid_post', toySae());
    const out = path.join(tempDir('out'), 'sae');
    const r = await runCli(['sae', 'import', 'toy-res/blocks.0.hook_resid_post', '--out', out, '--registry', registryFile(), '--json'], { HF_HUB_CACHE: cache, HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      out, layout: 'saelens', architecture: 'topk', d_in: d, d_sae: m, hook: 'blocks.0.hook_resid_post', model: 'gpt2-small',
      release: 'toy-res', sae_id: 'blocks.0.hook_resid_post', repo_id: 'org/toy-saes', revision: COMMIT, path: 'blocks.0.hook_resid_post',
    });
    expect(readCfg(out).metadata.hook_name).toBe('blocks.0.hook_resid_post');
  });

  it('files absent from the cache: one message naming them and --download, exit 1, no stack trace', async () => {
    const out = path.join(tempDir('out'), 'sae');
    const r = await runCli(['sae', 'import', 'toy-res/blocks.0.hook_resid_post', '--out', out, '--registry', registryFile()], { HF_HUB_CACHE: tempDir('empty-hf'), HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^interp: org\/toy-saes@main is not in the Hugging Face cache/);
    expect(r.stderr).toContain('blocks.0.hook_resid_post/sae_weights.safetensors');
    expect(r.stderr).toContain('--download');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(out)).toBe(false);
  });
});
