/**
 * A disk that fills up during `interp capture`: the capture runs on a small tmpfs sized, from an
 * uninterrupted reference capture, so that the disk is full while writing a shard, while writing
 * the manifest that would commit a shard, or before the first manifest. Each time the command
 * exits non-zero with one message naming the file and the fix (free space, run again), no stack
 * trace; the store holds exactly its last commit (no temporary file, no uncommitted shard) and
 * reads back; and once the tmpfs is remounted larger, the same command resumes into a store equal
 * to the reference (shard bytes and manifest).
 *
 * Needs mount(8) with permission to mount tmpfs (root on Linux, as in CI); skipped otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyworldDataset } from '../../datasets/tinyworld/index.js';
import { openCapture } from '../../src/store/index.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { listDir, runInterp } from './helpers.js';

const PAGE = 4096; // tmpfs accounts whole pages per file; directories take none
const MODEL = path.join(REPO_ROOT, 'datasets/tinyworld/model');
const SHARD = /^shard-(\d+)\.arrow$/;

const root = mkdtempSync(path.join(tmpdir(), 'interp-full-disk-'));
const mounted: string[] = [];

/** Mounts a tmpfs of `pages` pages at `dir`; false when this process may not mount. */
function mountTmpfs(dir: string, pages: number): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${pages * 4}k`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    return false;
  }
  mounted.push(dir);
  return true;
}

const canMount = process.platform === 'linux' && mountTmpfs(path.join(root, 'probe'), 1);
const skipReason = canMount ? '' : ' (skipped: cannot mount a tmpfs here; run as root on Linux, as CI does)';

const pages = (bytes: number) => Math.ceil(bytes / PAGE);

describe.skipIf(!canMount)(`a full disk during interp capture${skipReason}`, () => {
  const env = { INTERP_CACHE_DIR: path.join(root, 'cache') };
  const data = path.join(root, 'stories.jsonl');
  const args = (out: string) => ['capture', '--model', MODEL, '--dataset', data, '--hooks', 'resid_post.1,mlp_out.2', '--out', out, '--batch-size', '4', '--shard-rows', '160', '--dtype', 'f16', '--no-report'];
  const reference = path.join(root, 'reference');
  let shardPages: number[] = [];
  let manifestPages = 0;

  beforeAll(async () => {
    writeFileSync(data, `${tinyworldDataset('tinyworld:corpus', { count: 32 }).join('\n')}\n`);
    const r = await runInterp(args(reference), env);
    expect(r.code, r.stderr).toBe(0);
    const shards = listDir(reference).filter((f) => SHARD.test(f)).sort();
    shardPages = shards.map((f) => pages(statSync(path.join(reference, f)).size));
    // Every manifest of the run takes as many pages as the last one (the shard list grows by a
    // line per shard): checked loosely by requiring a page's slack below the final size.
    const size = statSync(path.join(reference, 'manifest.json')).size;
    manifestPages = pages(size);
    expect(size - (manifestPages - 1) * PAGE, 'manifest size too near a page boundary for this sizing').toBeGreaterThan(1024);
    expect(shards.length).toBeGreaterThanOrEqual(8);
  });

  afterAll(() => {
    // Lazy: a failed assertion may leave a file open on one of them until this process ends.
    for (const dir of mounted.reverse()) execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    rmSync(root, { recursive: true, force: true });
  });

  /** Pages of shards 0..j-1. */
  const shardsUpTo = (j: number) => shardPages.slice(0, j).reduce((a, b) => a + b, 0);

  const cases = [
    // Shards 0..3 and their manifest fit; shard 4 fills the disk half way through.
    { name: 'while writing a shard', disk: () => shardsUpTo(4) + manifestPages + Math.floor(shardPages[4] / 2), failing: 'shard-00004.arrow', kept: 4 },
    // Shard 5 fits, but its manifest cannot be written beside the one it replaces.
    { name: 'while writing the manifest that commits a shard', disk: () => shardsUpTo(6) + 2 * manifestPages - 1, failing: 'manifest.json', kept: 5 },
    // Not even the first manifest fits (it holds 2 × 128 zero sums: over 4 KiB).
    { name: 'before the first manifest', disk: () => 1, failing: 'manifest.json', kept: -1 },
  ];

  for (const [i, c] of cases.entries()) {
    it(`${c.name}: one clear message, the last commit kept, resumes equal to an uninterrupted capture`, async () => {
      const disk = path.join(root, `disk-${i}`);
      expect(mountTmpfs(disk, c.disk())).toBe(true);
      const out = path.join(disk, 'capture');
      const r = await runInterp(args(out), env);
      expect(r.code, r.stderr).toBe(1);
      const messages = r.stderr.split('\n').filter((l) => l.startsWith('interp:'));
      expect(messages, r.stderr).toEqual([`interp: ${path.join(out, c.failing)}: cannot write the ${c.failing === 'manifest.json' ? 'manifest' : 'shard'}: no space left on the device (ENOSPC)`]);
      expect(r.stderr).toMatch(/fix: free space on that disk .*run the same capture command again/);
      expect(r.stderr, 'stack trace printed').not.toMatch(/^\s+at /m);

      const files = listDir(out).sort();
      if (c.kept < 0) {
        expect(files).toEqual([]);
      } else {
        const want = Array.from({ length: c.kept }, (_, k) => `shard-${String(k).padStart(5, '0')}.arrow`);
        expect(files, 'only manifest.json and the shards it lists').toEqual(['manifest.json', ...want]);
        const capture = openCapture(out);
        try {
          expect(capture.manifest.complete).toBe(false);
          expect(capture.shards.map((s) => s.entry.file)).toEqual(want);
          let rows = 0;
          for (const b of capture.batches({ hooks: ['blocks.1.hook_resid_post'], batchRows: 500 })) rows += b.rows;
          expect(rows).toBe(capture.rows);
        } finally {
          capture.close();
        }
        for (const f of want) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(reference, f))), f).toBe(true);
      }

      execFileSync('mount', ['-o', 'remount,size=16m', disk], { stdio: 'pipe' });
      const resumed = await runInterp([...args(out), '--json'], env);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect((JSON.parse(resumed.stdout) as { resumed: boolean }).resumed).toBe(c.kept >= 0);
      const shards = listDir(reference).filter((f) => SHARD.test(f)).sort();
      expect(listDir(out).sort()).toEqual(['manifest.json', ...shards]);
      for (const f of shards) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(reference, f))), f).toBe(true);
      const manifest = (dir: string) => {
        const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
        delete m.command; // holds --out
        return m;
      };
      expect(manifest(out)).toEqual(manifest(reference));
    });
  }
});
