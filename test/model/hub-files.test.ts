/**
 * resolveHubFiles and checkRepoFilePath (src/model/hub.ts): files of any hub repository through the
 * cache, offline unless download is asked for. The download path is covered through a fake hub in
 * test/sae/registry.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { checkRepoFilePath, repoCacheFolder, resolveHubFiles } from '../../src/model/hub.js';
import { tempDir } from './helpers.js';

const COMMIT = 'e'.repeat(40);

/** snapshots/COMMIT/<file> for each file (plain files; refs/main when `ref`). */
function cacheFiles(cache: string, repoId: string, files: readonly string[], ref = true): string {
  const snapshot = path.join(repoCacheFolder(cache, repoId), 'snapshots', COMMIT);
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(snapshot, f)), { recursive: true });
    fs.writeFileSync(path.join(snapshot, f), f);
  }
  if (ref) {
    fs.mkdirSync(path.join(repoCacheFolder(cache, repoId), 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repoCacheFolder(cache, repoId), 'refs', 'main'), COMMIT);
  }
  return snapshot;
}

describe('checkRepoFilePath', () => {
  it.each(['cfg.json', 'layer_0/width_16k/average_l0_105/params.npz', 'v5_32k_layer_0.pt/cfg.json', 'Llama3_1-8B-Base-L0R-8x/checkpoints/final.safetensors'])('accepts %s', (p) => {
    expect(checkRepoFilePath(p)).toBe(p);
  });
  it.each(['', '../x', 'a/../b', 'a/./b', './a', '/etc/passwd', 'a//b', 'a\\b', 'a/', 'a\0b', '..'])('refuses %j', (p) => {
    expect(() => checkRepoFilePath(p)).toThrow(UsageError);
  });
});

describe('resolveHubFiles (offline)', () => {
  it('finds files through refs/main without touching fetch', async () => {
    const cache = tempDir();
    const snapshot = cacheFiles(cache, 'org/saes', ['a/cfg.json', 'a/w.safetensors']);
    const offline = vi.fn();
    const got = await resolveHubFiles('org/saes', 'main', ['a/cfg.json', 'a/w.safetensors'], { cacheDir: cache, fetch: offline as unknown as typeof fetch });
    expect(got).toEqual({ repoId: 'org/saes', commit: COMMIT, dir: snapshot });
    expect(offline).not.toHaveBeenCalled();
  });

  it('a commit-hash revision names its snapshot directly (no refs/ needed)', async () => {
    const cache = tempDir();
    const snapshot = cacheFiles(cache, 'org/saes', ['x.json'], false);
    expect((await resolveHubFiles('org/saes', COMMIT, ['x.json'], { cacheDir: cache })).dir).toBe(snapshot);
  });

  it('optional files need not be cached', async () => {
    const cache = tempDir();
    cacheFiles(cache, 'org/saes', ['a/cfg.json']);
    const offline = vi.fn();
    await expect(resolveHubFiles('org/saes', 'main', ['a/cfg.json'], { cacheDir: cache, optional: ['a/sparsity.safetensors'], fetch: offline as unknown as typeof fetch })).resolves.toMatchObject({ commit: COMMIT });
    expect(offline).not.toHaveBeenCalled();
  });

  it('missing files without download: UsageError naming each and --download, and no network', async () => {
    const cache = tempDir();
    cacheFiles(cache, 'org/saes', ['a/cfg.json']);
    const offline = vi.fn();
    const attempt = resolveHubFiles('org/saes', 'main', ['a/cfg.json', 'a/w.safetensors', 'a/x.json'], { cacheDir: cache, fetch: offline as unknown as typeof fetch });
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(resolveHubFiles('org/saes', 'main', ['a/cfg.json', 'a/w.safetensors'], { cacheDir: cache })).rejects.toThrow(
      /org\/saes@main: 1 of 2 files are not in the Hugging Face cache .*; missing: a\/w\.safetensors\n {2}fix: pass --download/,
    );
    await expect(resolveHubFiles('org/other', 'v1', ['f.json'], { cacheDir: cache })).rejects.toThrow(/org\/other@v1 is not in the Hugging Face cache .*no models--org--other\/refs\/v1.*missing: f\.json/);
    expect(offline).not.toHaveBeenCalled();
  });

  it('refuses a path, repository id or revision that could leave the cache, before reading anything', async () => {
    const cache = tempDir();
    await expect(resolveHubFiles('org/saes', 'main', ['../../etc/passwd'], { cacheDir: cache })).rejects.toThrow(/not a file path inside a hub repository/);
    await expect(resolveHubFiles('org/saes', 'main', ['ok.json'], { cacheDir: cache, optional: ['a/../../b'] })).rejects.toThrow(/not a file path inside a hub repository/);
    await expect(resolveHubFiles('../org', 'main', ['ok.json'], { cacheDir: cache })).rejects.toThrow(/not a hub repository id/);
    await expect(resolveHubFiles('org/saes', '../../x', ['ok.json'], { cacheDir: cache })).rejects.toThrow(/not a revision/);
  });
});
