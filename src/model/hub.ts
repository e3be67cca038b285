/**
 * Hugging Face hub ids through the standard cache layout, so that models (resolveHubModel) and any
 * other repository files (resolveHubFiles: SAE releases) a Python user already downloaded are
 * found, and what interp downloads is found by Python:
 *
 *     <cache>/models--ORG--NAME/refs/<branch or tag>        text file holding a commit hash
 *     <cache>/models--ORG--NAME/snapshots/<commit>/<file>   symlinks into ../../blobs/<etag>
 *
 * <cache> is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (huggingface_hub's order).
 *
 * Nothing here touches the network unless the caller passes `download: true` (the CLI's
 * --download): a project rule.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadFileToCacheDir, modelInfo } from '@huggingface/hub';
import { EnvironmentError, FileFormatError, ModelFormatError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CONFIG_FILE, GENERATION_CONFIG_FILE } from './config.js';
import { TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from './tokenizer.js';
import { CONVERT_HINT, SHARD_INDEX, SINGLE_FILE } from './weights.js';

/** A parsed hub id: `gpt2`, `org/name`, optionally `@revision`. */
export interface HubSpec {
  /** Repository id, e.g. `gpt2` or `EleutherAI/pythia-70m`. */
  readonly repoId: string;
  /** Branch, tag or commit hash; `main` when not given. */
  readonly revision: string;
}

/** A model snapshot folder in the cache. */
export interface ResolvedSnapshot {
  readonly repoId: string;
  /** The commit hash the snapshot folder is named by. */
  readonly commit: string;
  /** Absolute path of snapshots/<commit>/. */
  readonly dir: string;
}

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMMIT_HASH = /^[0-9a-f]{40}$/;
const REVISION = /^[A-Za-z0-9._/-]+$/;

/** True when `spec` has the form of a hub id (`name`, `org/name`, with optional `@revision`). */
export function looksLikeHubId(spec: string): boolean {
  try {
    parseHubId(spec);
    return true;
  } catch {
    return false;
  }
}

/** `gpt2` or `org/name`: parts that cannot climb out of the cache or collide in `models--ORG--NAME`. */
function isRepoId(repoId: string): boolean {
  const parts = repoId.split('/');
  return parts.length <= 2 && parts.every((p) => REPO_PART.test(p) && !p.includes('..') && !p.includes('--') && !p.endsWith('.'));
}

/** A branch, tag or commit: it names a file under refs/, so no `..` component and no leading `/`. */
function isRevision(revision: string): boolean {
  return REVISION.test(revision) && !revision.split('/').includes('..') && !revision.startsWith('/');
}

/** Parses `org/name@revision`; throws UsageError for anything else. */
export function parseHubId(spec: string): HubSpec {
  const at = spec.indexOf('@');
  const repoId = at >= 0 ? spec.slice(0, at) : spec;
  const revision = at >= 0 ? spec.slice(at + 1) : 'main';
  if (!isRepoId(repoId) || !isRevision(revision)) {
    throw new UsageError(
      `"${spec}" is neither an existing directory nor a hub id (expected ORG/NAME or NAME, optionally @REVISION, e.g. EleutherAI/pythia-70m@main)`,
      'give the path of a Hugging Face model folder, or a hub id',
    );
  }
  return { repoId, revision };
}

/** The hub cache directory, resolved from the environment as huggingface_hub does. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return path.resolve(env.HF_HUB_CACHE);
  if (env.HUGGINGFACE_HUB_CACHE) return path.resolve(env.HUGGINGFACE_HUB_CACHE);
  if (env.HF_HOME) return path.resolve(env.HF_HOME, 'hub');
  const xdg = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.resolve(xdg, 'huggingface', 'hub');
}

/** `models--ORG--NAME` folder of a repository in `cacheDir`. */
export function repoCacheFolder(cacheDir: string, repoId: string): string {
  return path.join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

/** The outcome of a cache lookup: the snapshot, or what was looked at and why it failed. */
export type CacheLookup =
  | { readonly found: true; readonly snapshot: ResolvedSnapshot }
  | { readonly found: false; readonly tried: readonly string[]; readonly reason: string };

/** Where refs/<revision> (or a commit-hash revision) points in the cache; no check of the snapshot's files. */
type SnapshotLookup =
  | { readonly found: true; readonly commit: string; readonly dir: string; readonly tried: readonly string[] }
  | { readonly found: false; readonly tried: readonly string[]; readonly reason: string };

/**
 * The snapshot folder a revision names, without any network access: a commit-hash revision names
 * it directly; a branch or tag is read from refs/<revision>. The folder itself may not exist.
 */
function lookupSnapshot(spec: HubSpec, cacheDir: string): SnapshotLookup {
  const repo = repoCacheFolder(cacheDir, spec.repoId);
  let commit: string;
  const tried: string[] = [];
  if (COMMIT_HASH.test(spec.revision)) {
    commit = spec.revision;
  } else {
    const ref = path.join(repo, 'refs', ...spec.revision.split('/'));
    tried.push(ref);
    if (!fs.existsSync(ref) || !fs.statSync(ref).isFile()) {
      return { found: false, tried, reason: `no ${path.relative(cacheDir, ref)}` };
    }
    commit = fs.readFileSync(ref, 'utf8').trim();
    if (!COMMIT_HASH.test(commit)) {
      return { found: false, tried, reason: `${ref} holds "${commit.slice(0, 60)}", not a commit hash` };
    }
  }
  return { found: true, commit, dir: snapshotFolder(cacheDir, spec.repoId, commit), tried };
}

/** snapshots/<commit>/ of a repository in `cacheDir`. */
function snapshotFolder(cacheDir: string, repoId: string, commit: string): string {
  return path.join(repoCacheFolder(cacheDir, repoId), 'snapshots', commit);
}

/**
 * Finds a cached snapshot without any network access: a commit-hash revision names the snapshot
 * folder directly; a branch or tag is read from refs/<revision>. A snapshot counts as found when it
 * holds config.json.
 */
export function lookupCachedModel(spec: HubSpec, cacheDir: string = hubCacheDir()): CacheLookup {
  const at = lookupSnapshot(spec, cacheDir);
  if (!at.found) return at;
  const tried = [...at.tried, path.join(at.dir, CONFIG_FILE)];
  if (!fs.existsSync(path.join(at.dir, CONFIG_FILE))) {
    return { found: false, tried, reason: `snapshot ${at.commit} has no config.json` };
  }
  return { found: true, snapshot: { repoId: spec.repoId, commit: at.commit, dir: at.dir } };
}

/** Options of resolveHubModel. */
export interface ResolveOptions {
  /** Fetch what is missing from the hub (the CLI's --download). Without it, no network is used. */
  readonly download?: boolean;
  /** Cache directory; hubCacheDir() when not given. */
  readonly cacheDir?: string;
  /** Replaces global fetch for downloads (tests, proxies). */
  readonly fetch?: typeof fetch;
}

/** True when the snapshot has safetensors weights (single file, or an index with every shard). */
function hasWeights(dir: string): boolean {
  if (fs.existsSync(path.join(dir, SINGLE_FILE))) return true;
  const index = path.join(dir, SHARD_INDEX);
  if (!fs.existsSync(index)) return false;
  try {
    const shards = new Set(Object.values(JSON.parse(fs.readFileSync(index, 'utf8')).weight_map ?? {}) as string[]);
    return [...shards].every((s) => typeof s === 'string' && fs.existsSync(path.join(dir, s)));
  } catch {
    return false; // a damaged index: let the download (or the loader's error) deal with it
  }
}

/**
 * Resolves a hub id to a snapshot folder. Uses the cache as it is when the snapshot has config.json
 * (and, with `download`, safetensors weights); otherwise downloads only when `download` is true,
 * and else throws UsageError naming the paths tried.
 */
export async function resolveHubModel(spec: string | HubSpec, options: ResolveOptions = {}): Promise<ResolvedSnapshot> {
  const hub = typeof spec === 'string' ? parseHubId(spec) : spec;
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const cached = lookupCachedModel(hub, cacheDir);
  if (cached.found && (!options.download || hasWeights(cached.snapshot.dir))) return cached.snapshot;
  if (!options.download) {
    const reason = cached.found ? '' : ` (${cached.reason})`;
    const tried = cached.found ? [] : cached.tried;
    throw new UsageError(
      `${hub.repoId}@${hub.revision} is not in the Hugging Face cache at ${cacheDir}${reason}; looked for: ${tried.join(', ')}`,
      'pass --download (download: true) to fetch it from the hub, give a local model directory, ' +
        'or set HF_HUB_CACHE / HF_HOME to the cache that holds it',
    );
  }
  return downloadHubModel(hub, cacheDir, options.fetch);
}

/** The hub URL: $HF_ENDPOINT when set (mirrors), else huggingface.co. */
function hubUrl(): string | undefined {
  return process.env.HF_ENDPOINT || undefined;
}

/** What every @huggingface/hub call of one download takes: endpoint, HF_TOKEN, fetch. */
interface HubRequest {
  readonly hubUrl: string | undefined;
  readonly accessToken?: string;
  readonly fetch?: typeof fetch;
}

function hubRequest(fetchImpl?: typeof fetch): HubRequest {
  return {
    hubUrl: hubUrl(),
    ...(process.env.HF_TOKEN ? { accessToken: process.env.HF_TOKEN } : {}),
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  };
}

/** The commit a revision names on the hub now, and every file path of that commit. */
async function revisionInfo(hub: HubSpec, request: HubRequest): Promise<{ commit: string; files: ReadonlySet<string> }> {
  const where = `${hub.repoId}@${hub.revision}`;
  let info: { sha?: string; filePaths?: string[] };
  try {
    info = await modelInfo({ name: hub.repoId, revision: hub.revision, additionalFields: ['sha', 'filePaths'], ...request });
  } catch (err) {
    throw new EnvironmentError(
      `cannot reach the hub for ${where} (${(err as Error).message})`,
      'check the network, the id and revision, and HF_TOKEN for gated or private models; or give a local directory',
    );
  }
  const commit = info.sha;
  if (typeof commit !== 'string' || !COMMIT_HASH.test(commit)) {
    throw new EnvironmentError(`the hub returned no commit hash for ${where}`, 'try again later, or give a local directory');
  }
  return { commit, files: new Set(info.filePaths ?? []) };
}

/**
 * Downloads one file of `commit` into the cache layout (blobs/ + a snapshots/ symlink) and returns
 * its snapshot path. @huggingface/hub writes the blob to an `.incomplete` name and renames it, so an
 * interrupted download leaves no file that looks complete.
 */
async function downloadFile(hub: HubSpec, commit: string, file: string, cacheDir: string, request: HubRequest): Promise<string> {
  // @huggingface/hub announces each file with console.debug (and a copy fallback with
  // console.info), which write to stdout and would corrupt the CLI's --json output: send those
  // lines to stderr while downloading.
  const { debug, info: announce } = console;
  console.debug = console.info = (...args: unknown[]) => console.error(...args);
  try {
    return await downloadFileToCacheDir({ repo: hub.repoId, path: file, revision: commit, cacheDir, ...request });
  } catch (err) {
    throw new EnvironmentError(`downloading ${file} of ${hub.repoId}@${hub.revision} failed (${(err as Error).message})`, 'check the network and try again; completed files are kept');
  } finally {
    console.debug = debug;
    console.info = announce;
  }
}

/** Points refs/<revision> at `commit` (atomically), as huggingface_hub does after a download; commit-hash revisions have no ref. */
function writeRef(cacheDir: string, hub: HubSpec, commit: string): void {
  if (COMMIT_HASH.test(hub.revision)) return;
  const ref = path.join(repoCacheFolder(cacheDir, hub.repoId), 'refs', ...hub.revision.split('/'));
  fs.mkdirSync(path.dirname(ref), { recursive: true });
  writeFileAtomic(ref, [Buffer.from(commit, 'utf8')]);
}

/**
 * Downloads config, generation config, tokenizer files and safetensors weights (single file or
 * index + shards) of one revision into the cache layout, and points refs/<revision> at it. Blobs
 * are written to `.incomplete` names and renamed by @huggingface/hub; the ref is written atomically.
 * Repositories with only pytorch_model.bin weights are refused before anything large is fetched.
 */
export async function downloadHubModel(hub: HubSpec, cacheDir: string, fetchImpl?: typeof fetch): Promise<ResolvedSnapshot> {
  const request = hubRequest(fetchImpl);
  const where = `${hub.repoId}@${hub.revision}`;
  const { commit, files } = await revisionInfo(hub, request);
  if (!files.has(CONFIG_FILE)) {
    throw new ModelFormatError(`${where} on the hub has no config.json, so it is not a transformers model`, 'check the id');
  }
  const download = (file: string) => downloadFile(hub, commit, file, cacheDir, request);

  const wanted = [CONFIG_FILE, GENERATION_CONFIG_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE].filter((f) => files.has(f));
  if (files.has(SINGLE_FILE)) {
    wanted.push(SINGLE_FILE);
  } else if (files.has(SHARD_INDEX)) {
    const indexPath = await download(SHARD_INDEX);
    let shards: string[];
    try {
      shards = [...new Set(Object.values(JSON.parse(fs.readFileSync(indexPath, 'utf8')).weight_map) as string[])];
    } catch (err) {
      throw new ModelFormatError(`${indexPath}: cannot read weight_map (${(err as Error).message})`, 'report it to the model authors, or convert the model locally');
    }
    // Only files the repository lists: a hostile index cannot name paths outside it.
    const unknown = shards.filter((s) => !files.has(s));
    if (unknown.length > 0) {
      throw new ModelFormatError(`${indexPath}: weight_map names shards the repository does not have: ${unknown.slice(0, 5).join(', ')}`, 'report it to the model authors');
    }
    wanted.push(...shards);
  } else {
    const pickled = [...files].filter((f) => /\.(bin|pt|pth|ckpt)$/.test(f));
    throw new ModelFormatError(
      `${where} on the hub has no safetensors weights (${SINGLE_FILE} or ${SHARD_INDEX})` +
        (pickled.length ? `; it has pickled weights (${pickled.slice(0, 3).join(', ')}), which interp never loads` : ''),
      'look for a safetensors revision (e.g. @refs/pr/N), or convert it in Python: ' + CONVERT_HINT,
    );
  }
  for (const file of wanted) await download(file);
  writeRef(cacheDir, hub, commit);
  return { repoId: hub.repoId, commit, dir: snapshotFolder(cacheDir, hub.repoId, commit) };
}

/** A path component of a file inside a repository: no separators, nothing that climbs or hides. */
const REPO_PATH_PART = /^[A-Za-z0-9_.+=@-]+$/;

/**
 * Checks that `file` is a relative, '/'-separated path inside a repository snapshot: every
 * component a plain name (no '', '.', '..', backslash or NUL), so that joining it to the snapshot
 * folder cannot reach outside it. Returns it unchanged; throws UsageError naming it otherwise.
 */
export function checkRepoFilePath(file: string): string {
  const parts = file.split('/');
  const plain = file.length > 0 && parts.every((p) => REPO_PATH_PART.test(p) && p !== '.' && p !== '..');
  if (!plain) {
    throw new UsageError(
      `${JSON.stringify(file)} is not a file path inside a hub repository (expected NAME or FOLDER/NAME: plain names separated by '/', no '.', '..' or absolute paths)`,
      'check the path (a registry entry or --revision must not point outside the repository)',
    );
  }
  return file;
}

/** Options of resolveHubFiles. */
export interface HubFilesOptions extends ResolveOptions {
  /**
   * Files fetched along with missing required ones when the hub has them, and not required in the
   * cache (e.g. an SAE's sparsity.safetensors).
   */
  readonly optional?: readonly string[];
}

/**
 * Resolves `files` of one repository revision in the hub cache: the snapshot folder that holds
 * every one of them. Offline (the default) it only reads refs/ and snapshots/, and throws
 * UsageError naming each missing file and --download. With `download`, the files the snapshot
 * lacks (and the optional ones the hub has) are fetched into the snapshot of the revision's
 * current commit; a cache that already holds them all is used without any network access.
 * Every path is checked with checkRepoFilePath first, so none can escape the snapshot folder.
 */
export async function resolveHubFiles(repoId: string, revision: string, files: readonly string[], options: HubFilesOptions = {}): Promise<ResolvedSnapshot> {
  if (!isRepoId(repoId)) throw new UsageError(`${JSON.stringify(repoId)} is not a hub repository id`, 'expected ORG/NAME or NAME, e.g. google/gemma-scope-2b-pt-res');
  if (!isRevision(revision)) throw new UsageError(`${JSON.stringify(revision)} is not a revision`, 'give a branch, a tag or a commit hash, e.g. main');
  const hub: HubSpec = { repoId, revision };
  const required = files.map(checkRepoFilePath);
  const optional = (options.optional ?? []).map(checkRepoFilePath);
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const where = `${repoId}@${revision}`;
  const absentFrom = (dir: string, list: readonly string[]) => list.filter((f) => !fs.existsSync(path.join(dir, ...f.split('/'))));

  const cached = lookupSnapshot(hub, cacheDir);
  if (cached.found && absentFrom(cached.dir, required).length === 0) return { repoId, commit: cached.commit, dir: cached.dir };
  if (!options.download) {
    const them = required.length === 1 ? 'it' : 'them';
    const fix = `pass --download (download: true) to fetch ${them} from the hub, or set HF_HUB_CACHE / HF_HOME to the cache that holds ${them}`;
    if (!cached.found) {
      throw new UsageError(`${where} is not in the Hugging Face cache at ${cacheDir} (${cached.reason}); missing: ${required.join(', ')}`, fix);
    }
    const missing = absentFrom(cached.dir, required);
    throw new UsageError(`${where}: ${missing.length} of ${required.length} files are not in the Hugging Face cache (snapshot ${cached.dir}); missing: ${missing.join(', ')}`, fix);
  }

  const request = hubRequest(options.fetch);
  const { commit, files: onHub } = await revisionInfo(hub, request);
  const notOnHub = required.filter((f) => !onHub.has(f));
  if (notOnHub.length > 0) {
    throw new FileFormatError(`${repoId}@${commit} on the hub has no ${notOnHub.join(', ')}`, 'check the path and the revision (--revision)');
  }
  // Missing from the snapshot of the hub's current commit, which may be newer than a cached one.
  const dir = snapshotFolder(cacheDir, repoId, commit);
  const wanted = absentFrom(dir, [...required, ...optional.filter((f) => onHub.has(f))]);
  for (const file of wanted) await downloadFile(hub, commit, file, cacheDir, request);
  writeRef(cacheDir, hub, commit);
  return { repoId, commit, dir };
}
