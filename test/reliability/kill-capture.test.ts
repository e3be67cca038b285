/**
 * kill -9 at 20 seeded points of `interp capture` on the embedded TinyWorld model, then the same
 * command again: every resume completes, and the store equals an uninterrupted capture's —
 * identical shard bytes, identical manifest (statistic sums included; only the recorded command
 * line differs, by its --out), and nothing else left in the directory.
 *
 * Each trial aims at one kind of moment, found by polling the capture directory so that it lands
 * there on a loaded machine too: during start-up (before the store exists), k shards committed
 * plus a seeded delay (mid-batch, mid-shard), the instant shard k's temporary file appears
 * (between open and rename), and the instant a temporary manifest appears (between a shard's
 * rename and the manifest that commits it).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyworldDataset } from '../../datasets/tinyworld/index.js';
import { rng } from '../helpers/checkpoints.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { inPool, killWhen, listDir, runInterp, spawnInterp } from './helpers.js';

const TRIALS = 20;
const SEED = 0x9e3779b9;
/** Trials run two at a time: a child spends much of its life starting up or in fsync. */
const PARALLEL = 2;
const MODEL = path.join(REPO_ROOT, 'datasets/tinyworld/model');
const SHARD = /^shard-(\d+)\.arrow$/;
const SHARD_TMP = /^shard-(\d+)\.arrow\.tmp$/;
const MANIFEST_TMP = /^\.manifest\.json\..*\.tmp$/;

type Aim =
  | { kind: 'start-up'; delayMs: number }
  | { kind: 'after-shards'; k: number; delayMs: number }
  | { kind: 'shard-tmp'; k: number }
  | { kind: 'manifest-tmp'; k: number };

const describeAim = (a: Aim): string => {
  switch (a.kind) {
    case 'start-up': return `${a.delayMs} ms after spawn`;
    case 'after-shards': return `${a.k} shard(s) + ${a.delayMs} ms`;
    case 'shard-tmp': return `shard ${a.k} .tmp open`;
    case 'manifest-tmp': return `manifest .tmp after shard ${a.k}`;
  }
};

/** The seeded kill points: a spread over the run, every kind represented. */
function aims(shards: number): Aim[] {
  const rand = rng(SEED);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const kinds: Aim['kind'][] = ['start-up', 'after-shards', 'shard-tmp', 'manifest-tmp'];
  // k stays two shards short of the end so that every trial interrupts a capture still running.
  const last = Math.max(0, shards - 3);
  return Array.from({ length: TRIALS }, (_, i): Aim => {
    const kind = kinds[i % kinds.length];
    switch (kind) {
      case 'start-up': return { kind, delayMs: int(0, 1500) };
      case 'after-shards': return { kind, k: int(0, last), delayMs: int(0, 60) };
      case 'shard-tmp': return { kind, k: int(0, last) };
      case 'manifest-tmp': return { kind, k: int(0, last) };
    }
  });
}

/** True once the directory shows the state the aim waits for. */
function reached(out: string, aim: Aim): boolean {
  const files = listDir(out);
  const committed = files.filter((f) => SHARD.test(f)).length;
  switch (aim.kind) {
    case 'start-up': return true;
    case 'after-shards': return committed >= aim.k && files.includes('manifest.json');
    case 'shard-tmp': return files.some((f) => Number(SHARD_TMP.exec(f)?.[1] ?? -1) >= aim.k) || committed > aim.k + 1;
    case 'manifest-tmp': return (committed > aim.k && files.some((f) => MANIFEST_TMP.test(f))) || committed > aim.k + 1;
  }
}

/** Everything the store's state says, for the trial's log line. */
function storeState(out: string): string {
  const files = listDir(out);
  if (!existsSync(out)) return 'no directory';
  const m = files.includes('manifest.json') ? (JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { shards: unknown[]; complete: boolean }) : null;
  const extra = files.filter((f) => f !== 'manifest.json' && !SHARD.test(f));
  const orphans = files.filter((f) => SHARD.test(f)).length - (m?.shards.length ?? 0);
  return [m ? `${m.shards.length} shard(s) committed${m.complete ? ', complete' : ''}` : 'no manifest', ...(orphans > 0 ? [`${orphans} uncommitted shard`] : []), ...extra].join(', ');
}

const manifestWithoutCommand = (dir: string): Record<string, unknown> => {
  const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  delete m.command; // holds --out, the one argument that differs
  return m;
};

describe('kill -9 during interp capture', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'interp-kill-capture-'));
  const env = { INTERP_CACHE_DIR: path.join(dir, 'cache') };
  const data = path.join(dir, 'stories.jsonl');
  // Small batches and shards: 32 stories in ~15 shards, so that kill points have a run to land in.
  const args = (out: string) => ['capture', '--model', MODEL, '--dataset', data, '--hooks', 'resid_post.1,mlp_out.2', '--out', out, '--batch-size', '4', '--shard-rows', '160', '--dtype', 'f16', '--no-report'];
  const reference = path.join(dir, 'reference');
  let shards: string[] = [];

  beforeAll(async () => {
    writeFileSync(data, `${tinyworldDataset('tinyworld:corpus', { count: 32 }).join('\n')}\n`);
    const r = await runInterp(args(reference), env);
    expect(r.code, r.stderr).toBe(0);
    shards = listDir(reference).filter((f) => SHARD.test(f)).sort();
    expect(shards.length).toBeGreaterThanOrEqual(12);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** One trial: spawn, kill at the aim, run the same command again, compare with the reference. */
  async function trial(i: number, aim: Aim): Promise<{ killed: boolean; line: string }> {
    const out = path.join(dir, `trial-${i}`);
    const { child, stderr } = spawnInterp(args(out), env);
    const delay = aim.kind === 'start-up' || aim.kind === 'after-shards' ? aim.delayMs : 0;
    const end = await killWhen(child, () => reached(out, aim), delay);
    const at = storeState(out);
    if (!end.killed) expect(end.code, `trial ${i} exited on its own before the kill: ${stderr()}`).toBe(0);

    const resumed = await runInterp([...args(out), '--json'], env);
    expect(resumed.code, `trial ${i} (${describeAim(aim)}; killed at: ${at}): ${resumed.stderr}`).toBe(0);
    expect((JSON.parse(resumed.stdout) as { shards: number }).shards).toBe(shards.length);
    expect(listDir(out).sort(), `trial ${i}: stray files after resume`).toEqual(['manifest.json', ...shards].sort());
    for (const f of shards) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(reference, f))), `trial ${i} (${describeAim(aim)}): ${f} differs`).toBe(true);
    expect(manifestWithoutCommand(out), `trial ${i}: manifest`).toEqual(manifestWithoutCommand(reference));
    rmSync(out, { recursive: true, force: true });
    return { killed: end.killed, line: `trial ${String(i).padStart(2)}: aimed ${describeAim(aim).padEnd(28)} ${end.killed ? `killed at ${Math.round(end.ms)} ms` : 'finished first'} → ${at}` };
  }

  it(`${TRIALS} seeded kills each resume into a store equal to the uninterrupted one`, async () => {
    const results = await inPool(aims(shards.length).map((aim, i) => () => trial(i, aim)), PARALLEL);
    console.info(`kill-capture (${shards.length} shards per capture):\n${results.map((r) => r.line).join('\n')}`);
    // Every aim stops two shards short of the end: a capture that finished first means the machine
    // stalled the poll, and more than a couple of such trials would test too little.
    expect(results.filter((r) => r.killed).length).toBeGreaterThanOrEqual(TRIALS - 2);
  }, 300_000);
});
