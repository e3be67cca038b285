/**
 * Public SAE releases by name: `interp sae import RELEASE/ID`, `interp sae list`.
 *
 * The registry is releases.json beside this file: a subset of SAELens' own registry,
 * sae_lens/pretrained_saes.yaml of jbloomAus/SAELens at commit 91ca16cc, converted by
 * scripts/sae-releases-from-yaml.py (which derives every hook name, so the subset can be
 * regenerated and reviewed, never hand-edited). Per release it holds the hub repository, the
 * model, SAELens' conversion_func and the interp layout of the files in each SAE folder; per SAE
 * the id (SAELens' sae_id), the folder in the repository, the interp hook name, and l0, the
 * Neuronpedia id and norm_scaling_factor where SAELens gives them.
 *
 * An SAE is found through the Hugging Face cache exactly like a model (src/model/hub.ts
 * resolveHubFiles): only the files its layout needs (LAYOUT_FILES), offline unless the caller asks
 * to download, so an SAE a Python user fetched with SAELens is found without network. Nothing here
 * unpickles: every layout's files are safetensors, npz or JSON. (The OAI v5 32k ids' paths end in
 * ".pt", but SAELens reads them with its SAELens-layout loader, as `<path>/cfg.json` and
 * `<path>/sae_weights.safetensors`: the ".pt" names a folder, and those are the files fetched.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileFormatError, UsageError, describeValue } from '../src/errors.js';
import { HOOKS, nearestNames } from '../src/hooks.js';
import { checkRepoFilePath, resolveHubFiles, type ResolvedSnapshot } from '../src/model/index.js';
import { importSae, type LoadedSae } from './io.js';
import type { WeightsSource } from './model-weights.js';

/** Layouts of the files in one SAE folder of a release (SAELens' conversion_func, renamed). */
export const RELEASE_LAYOUTS = ['saelens', 'gemma-scope', 'gemma-scope-2', 'gemma-scope-transcoder', 'llama-scope', 'sparsify'] as const;
export type ReleaseLayout = (typeof RELEASE_LAYOUTS)[number];

/**
 * The files fetched per layout, relative to the SAE's folder in the repository: `required` must be
 * in the cache (or are downloaded); `optional` are downloaded with them when the hub has them.
 */
export const LAYOUT_FILES: Readonly<Record<ReleaseLayout, { readonly required: readonly string[]; readonly optional: readonly string[] }>> = {
  saelens: { required: ['cfg.json', 'sae_weights.safetensors'], optional: ['sparsity.safetensors'] },
  'gemma-scope': { required: ['params.npz'], optional: [] },
  'gemma-scope-transcoder': { required: ['params.npz'], optional: [] },
  'gemma-scope-2': { required: ['params.safetensors', 'config.json'], optional: [] },
  'llama-scope': { required: ['hyperparams.json', 'checkpoints/final.safetensors'], optional: [] },
  sparsify: { required: ['cfg.json', 'sae.safetensors'], optional: [] },
};

/** One SAE of a release. */
export interface ReleaseSae {
  /** SAELens' sae_id: what follows `RELEASE/` on the command line (it may contain '/'). */
  readonly id: string;
  /** Folder of the SAE's files in the repository. */
  readonly path: string;
  /** interp (TransformerLens) name of the hook the SAE reads. */
  readonly hook: string;
  /** Transcoders: the hook whose value they predict. */
  readonly hook_out?: string;
  /** Mean active latents per token as SAELens lists it. */
  readonly l0?: number;
  readonly neuronpedia?: string;
  /** √d_in / E‖x‖ of the training activations (Llama Scope), which the weights themselves do not hold. */
  readonly norm_scaling_factor?: number;
}

/** One release: a hub repository of SAEs of one model, in one layout. */
export interface Release {
  readonly name: string;
  readonly repo_id: string;
  /** The model as SAELens names it (gpt2-small, gemma-2-2b, meta-llama/Llama-3.1-8B). */
  readonly model: string;
  /** SAELens' conversion_func (null: SAELens' own layout). */
  readonly conversion_func: string | null;
  readonly layout: ReleaseLayout;
  /** For an entry not taken from SAELens' yaml: where its folder names come from. */
  readonly source?: string;
  readonly saes: readonly ReleaseSae[];
}

export interface Registry {
  /** The JSON file read. */
  readonly file: string;
  /** The SAELens registry the file was generated from. */
  readonly source: { readonly repo: string; readonly path: string; readonly commit: string };
  /** Releases by name, in the file's order. */
  readonly releases: ReadonlyMap<string, Release>;
}

/** One pattern per hook template of src/hooks.ts: `{L}` stands for a layer number. */
const HOOK_PATTERNS: readonly RegExp[] = HOOKS.map(
  (h) => new RegExp(`^${h.template.split('{L}').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('(?:0|[1-9][0-9]*)')}$`),
);

/**
 * True when `name` is the full name of a hook point interp declares (src/hooks.ts HOOKS) in some
 * layer, whatever the model: what a registry entry's hook must be, so that every imported SAE
 * names a hook `interp capture` and the runtime know.
 */
export function isInterpHookName(name: string): boolean {
  return HOOK_PATTERNS.some((p) => p.test(name));
}

/** sae/releases.json; in the compiled package dist/sae/releases.json (scripts/copy-assets.mjs copies it). */
export const REGISTRY_FILE = fileURLToPath(new URL('./releases.json', import.meta.url));

const loaded = new Map<string, Registry>();

/** Reads and checks a registry file (the shipped one by default; read once per process). */
export function loadRegistry(file: string = REGISTRY_FILE): Registry {
  const cached = loaded.get(file);
  if (cached) return cached;
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FileFormatError(`${file}: cannot read the SAE release registry (${(err as Error).message})`, 'reinstall interp, or regenerate it with scripts/sae-releases-from-yaml.py');
  }
  const registry = parseRegistry(doc, file);
  loaded.set(file, registry);
  return registry;
}

/** Checks the registry document's shape field by field; a bad field is named with its release. */
export function parseRegistry(doc: unknown, file: string): Registry {
  const bad = (where: string, value: unknown): never => {
    throw new FileFormatError(`${file}: ${where} is ${describeValue(value)}`, 'regenerate it with scripts/sae-releases-from-yaml.py');
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const str = (o: Record<string, unknown>, key: string, where: string): string => {
    const v = o[key];
    return typeof v === 'string' && v.length > 0 ? v : bad(`${where}.${key}`, v);
  };
  const optional = <T>(o: Record<string, unknown>, key: string, where: string, type: 'string' | 'number'): T | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    return typeof v === type ? (v as T) : bad(`${where}.${key}`, v);
  };
  if (!isObject(doc)) return bad('the document', doc);
  if (doc.format !== 'interp.sae-releases' || doc.format_version !== 1) bad('format / format_version', [doc.format, doc.format_version]);
  const source = isObject(doc.source) ? doc.source : bad('source', doc.source);
  if (!isObject(doc.releases)) return bad('releases', doc.releases);
  const releases = new Map<string, Release>();
  for (const [name, raw] of Object.entries(doc.releases)) {
    const where = `releases[${JSON.stringify(name)}]`;
    if (!isObject(raw)) return bad(where, raw);
    const layout = RELEASE_LAYOUTS.find((l) => l === raw.layout) ?? bad(`${where}.layout`, raw.layout);
    const conversion = raw.conversion_func;
    if (conversion !== null && typeof conversion !== 'string') bad(`${where}.conversion_func`, conversion);
    if (!Array.isArray(raw.saes) || raw.saes.length === 0) return bad(`${where}.saes`, raw.saes);
    const ids = new Set<string>();
    const saes = raw.saes.map((s: unknown, i: number): ReleaseSae => {
      const at = `${where}.saes[${i}]`;
      if (!isObject(s)) return bad(at, s);
      const id = str(s, 'id', at);
      if (ids.has(id)) bad(`${at}.id (a duplicate)`, id);
      ids.add(id);
      const hook = str(s, 'hook', at);
      const hookOut = optional<string>(s, 'hook_out', at, 'string');
      for (const [key, name] of [['hook', hook], ['hook_out', hookOut]] as const) {
        if (name !== undefined && !isInterpHookName(name)) bad(`${at}.${key} (not a hook name interp declares, see \`interp hooks\`)`, name);
      }
      const folder = str(s, 'path', at);
      try {
        checkRepoFilePath(folder);
      } catch {
        bad(`${at}.path (not a plain folder path inside the repository: no '.', '..', '\\' or leading '/')`, folder);
      }
      const l0 = optional<number>(s, 'l0', at, 'number');
      const neuronpedia = optional<string>(s, 'neuronpedia', at, 'string');
      const scale = optional<number>(s, 'norm_scaling_factor', at, 'number');
      return {
        id, path: folder, hook,
        ...(hookOut !== undefined ? { hook_out: hookOut } : {}),
        ...(l0 !== undefined ? { l0 } : {}),
        ...(neuronpedia !== undefined ? { neuronpedia } : {}),
        ...(scale !== undefined ? { norm_scaling_factor: scale } : {}),
      };
    });
    const origin = optional<string>(raw, 'source', where, 'string');
    releases.set(name, {
      name, repo_id: str(raw, 'repo_id', where), model: str(raw, 'model', where), conversion_func: conversion as string | null, layout,
      ...(origin !== undefined ? { source: origin } : {}),
      saes,
    });
  }
  return { file, source: { repo: str(source, 'repo', 'source'), path: str(source, 'path', 'source'), commit: str(source, 'commit', 'source') }, releases };
}

/** Up to five names close to `query`: those it starts or is contained in first, then by edit distance. */
export function closeMatches(candidates: readonly string[], query: string, max = 5): string[] {
  const q = query.toLowerCase();
  const containing = q.length > 0 ? candidates.filter((c) => c.toLowerCase().includes(q) || q.includes(c.toLowerCase())) : [];
  return [...new Set([...containing, ...nearestNames(candidates, query, max)])].slice(0, max);
}

const listHint = (release?: Release) =>
  release
    ? `\`interp sae list --release ${release.name}\` lists its ${release.saes.length} ids`
    : '`interp sae list` shows the releases, `interp sae list --release R` the ids of one';

/** A release by exact name, or UsageError with the close ones. */
export function findRelease(name: string, registry: Registry = loadRegistry()): Release {
  const release = registry.releases.get(name);
  if (release) return release;
  const close = closeMatches([...registry.releases.keys()], name);
  throw new UsageError(`no SAE release "${name}" in interp's registry${close.length ? `; close: ${close.join(', ')}` : ''}`, listHint());
}

/**
 * Splits `RELEASE/ID` by the registry: the release is the longest name that, followed by '/',
 * prefixes `spec` (ids contain '/', e.g. gemma-scope-2b-pt-res/layer_5/width_16k/average_l0_68).
 * Unknown releases and ids raise UsageError listing up to five close names.
 */
export function findReleaseSae(spec: string, registry: Registry = loadRegistry()): { release: Release; sae: ReleaseSae } {
  let release: Release | undefined;
  for (const r of registry.releases.values()) {
    if (spec.startsWith(`${r.name}/`) && (!release || r.name.length > release.name.length)) release = r;
  }
  if (!release) {
    const alone = registry.releases.get(spec);
    if (alone) {
      throw new UsageError(`"${spec}" is a release, not an SAE: give RELEASE/ID, e.g. ${spec}/${alone.saes[0].id}`, listHint(alone));
    }
    const close = closeMatches([...registry.releases.keys()], spec.split('/')[0]);
    throw new UsageError(
      `"${spec}" is neither an existing file or folder nor RELEASE/ID of an SAE release interp knows` + (close.length ? `; close releases: ${close.join(', ')}` : ''),
      `${listHint()}; or give the path of an SAE folder or params.npz`,
    );
  }
  const id = spec.slice(release.name.length + 1);
  const sae = release.saes.find((s) => s.id === id);
  if (!sae) {
    const close = closeMatches(release.saes.map((s) => s.id), id);
    throw new UsageError(`release ${release.name} has no SAE "${id}"${close.length ? `; close ids: ${close.join(', ')}` : ''}`, listHint(release));
  }
  return { release, sae };
}

/**
 * SAELens names models as TransformerLens does; where that name is not the hub id's last part,
 * the hub ids it stands for (TransformerLens' MODEL_ALIASES: "gpt2" is "gpt2-small").
 */
const MODEL_HUB_NAMES: Readonly<Record<string, readonly string[]>> = { 'gpt2-small': ['gpt2', 'openai-community/gpt2'] };

/**
 * True when `model` names the release's model: equal ignoring case, or equal after the last '/'
 * (so `--model gemma-2-2b` and `--model google/gemma-2-2b` both find SAELens' "gemma-2-2b", and
 * `--model Llama-3.1-8B` finds "meta-llama/Llama-3.1-8B"), or a hub id of it (`gpt2` finds
 * "gpt2-small").
 */
export function isReleaseForModel(release: Release, model: string): boolean {
  const base = (s: string) => s.toLowerCase().split('/').pop() ?? '';
  const names = [release.model, ...(MODEL_HUB_NAMES[release.model] ?? [])];
  return names.some((name) => name.toLowerCase() === model.toLowerCase() || base(name) === base(model));
}

/** What importSae records of where an SAE came from (its cfg.json metadata). */
export interface ReleaseProvenance {
  readonly release: string;
  readonly sae_id: string;
  readonly repo_id: string;
  /** The commit hash the files were read at (not the branch name), so the import can be repeated exactly. */
  readonly revision: string;
  /** The SAE's folder in the repository. */
  readonly path: string;
}

export interface ResolveReleaseOptions {
  /** Branch, tag or commit of the repository (default main). */
  readonly revision?: string;
  /** Fetch missing files from the hub; without it no network is used. */
  readonly download?: boolean;
  /** Hugging Face hub cache; hubCacheDir() when not given. */
  readonly cacheDir?: string;
  /** Replaces global fetch for downloads (tests, proxies). */
  readonly fetch?: typeof fetch;
}

export interface ResolvedReleaseSae {
  readonly release: Release;
  readonly sae: ReleaseSae;
  readonly snapshot: ResolvedSnapshot;
  /** The SAE's folder inside the snapshot: what importSae reads. */
  readonly dir: string;
  readonly provenance: ReleaseProvenance;
}

/** The cached (or, with `download`, downloaded) folder of one SAE: LAYOUT_FILES of its layout, under its path. */
export async function resolveReleaseSae(release: Release, sae: ReleaseSae, options: ResolveReleaseOptions = {}): Promise<ResolvedReleaseSae> {
  const { required, optional } = LAYOUT_FILES[release.layout];
  const inRepo = (file: string) => `${sae.path}/${file}`;
  // resolveHubFiles checks every component of these paths, so a registry entry cannot point
  // outside the snapshot; joining sae.path below is then safe too.
  const snapshot = await resolveHubFiles(release.repo_id, options.revision ?? 'main', required.map(inRepo), {
    optional: optional.map(inRepo),
    ...(options.download !== undefined ? { download: options.download } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
  });
  return {
    release, sae, snapshot,
    dir: path.join(snapshot.dir, ...sae.path.split('/')),
    provenance: { release: release.name, sae_id: sae.id, repo_id: release.repo_id, revision: snapshot.commit, path: sae.path },
  };
}

export interface ImportReleaseOptions extends ResolveReleaseOptions {
  /** Overrides the registry's hook name in the written cfg.json. */
  readonly hook?: string;
  /** Overrides the registry's output hook of a transcoder in the written cfg.json. */
  readonly hookOut?: string;
  /** Overrides the registry's model name in the written cfg.json. */
  readonly model?: string;
  /** Fold this model's norm weight into a transcoder (io.ts ImportOptions.foldInputNorm). */
  readonly foldInputNorm?: WeightsSource;
  readonly registry?: Registry;
}

/**
 * `interp sae import RELEASE/ID --out DIR`: finds the SAE in the registry and the cache, and
 * writes it in the SAELens layout to `out` with the registry's hook names (a transcoder's output
 * hook too) and model name, the release's norm scaling factor, and its provenance.
 */
export async function importReleaseSae(spec: string, out: string, options: ImportReleaseOptions = {}): Promise<{ loaded: LoadedSae; resolved: ResolvedReleaseSae }> {
  const { release, sae } = findReleaseSae(spec, options.registry ?? loadRegistry());
  const resolved = await resolveReleaseSae(release, sae, options);
  const loadedSae = importSae(resolved.dir, out, {
    hook: options.hook ?? sae.hook,
    ...((options.hookOut ?? sae.hook_out) !== undefined ? { hookOut: options.hookOut ?? sae.hook_out } : {}),
    model: options.model ?? release.model,
    ...(sae.norm_scaling_factor !== undefined ? { normScalingFactor: sae.norm_scaling_factor } : {}),
    provenance: { ...resolved.provenance },
    layout: release.layout,
    ...(options.foldInputNorm ? { foldInputNorm: options.foldInputNorm } : {}),
  });
  return { loaded: loadedSae, resolved };
}
