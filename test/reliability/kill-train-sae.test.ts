/**
 * kill -9 at 20 seeded points of `interp train-sae --checkpoint-every 3`, then the same command
 * with --resume: every resume completes, the SAE and its checkpoint load, and (TopK) both equal
 * the uninterrupted run's bit for bit — weights, Adam state, dead-latent counters, held-out
 * sparsity — with nothing else left in the run directory.
 *
 * Each trial aims at one kind of moment, found by polling the run directory: during start-up
 * (before the first checkpoint), after the checkpoint of step s plus a seeded delay (mid-step),
 * the instant a checkpoint is being swapped in (`checkpoint.tmp-*` or `checkpoint.old-*` beside
 * it), and after the last checkpoint (evaluation and the final writes).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyworldDataset } from '../../datasets/tinyworld/index.js';
import { loadSae } from '../../sae/io.js';
import { gpuOrSkip } from '../engine/helpers.js';
import { rng } from '../helpers/checkpoints.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { inPool, killWhen, listDir, runInterp, spawnInterp } from './helpers.js';

const TRIALS = 20;
const SEED = 0x5ae5eed;
/** Trials run two at a time: a child spends much of its life starting up or in fsync. */
const PARALLEL = 2;
const STEPS = 30;
const EVERY = 3;
const MODEL = path.join(REPO_ROOT, 'datasets/tinyworld/model');

type Aim =
  | { kind: 'start-up'; delayMs: number }
  | { kind: 'after-checkpoint'; step: number; delayMs: number }
  | { kind: 'checkpoint-swap'; step: number }
  | { kind: 'finishing'; delayMs: number };

const describeAim = (a: Aim): string => {
  switch (a.kind) {
    case 'start-up': return `${a.delayMs} ms after spawn`;
    case 'after-checkpoint': return `checkpoint ${a.step} + ${a.delayMs} ms`;
    case 'checkpoint-swap': return `swap after checkpoint ${a.step}`;
    case 'finishing': return `last checkpoint + ${a.delayMs} ms`;
  }
};

function aims(): Aim[] {
  const rand = rng(SEED);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const kinds: Aim['kind'][] = ['start-up', 'after-checkpoint', 'checkpoint-swap', 'after-checkpoint', 'finishing'];
  return Array.from({ length: TRIALS }, (_, i): Aim => {
    const kind = kinds[i % kinds.length];
    switch (kind) {
      case 'start-up': return { kind, delayMs: int(0, 2500) };
      case 'after-checkpoint': return { kind, step: EVERY * int(1, STEPS / EVERY - 2), delayMs: int(0, 40) };
      case 'checkpoint-swap': return { kind, step: EVERY * int(0, STEPS / EVERY - 2) };
      case 'finishing': return { kind, delayMs: int(0, 150) };
    }
  });
}

/** Step of the checkpoint under `run`, or -1 (none yet, or caught mid-swap). */
function checkpointStep(run: string): number {
  try {
    return (JSON.parse(readFileSync(path.join(run, 'checkpoint', 'trainer.json'), 'utf8')) as { step: number }).step;
  } catch {
    return -1;
  }
}

function reached(run: string, aim: Aim): boolean {
  switch (aim.kind) {
    case 'start-up': return true;
    case 'after-checkpoint': return checkpointStep(run) >= aim.step;
    case 'checkpoint-swap': {
      const swapping = listDir(run).some((f) => f.startsWith('checkpoint.tmp-') || f.startsWith('checkpoint.old-'));
      const step = checkpointStep(run);
      return (swapping && (step >= aim.step || (step === -1 && aim.step === 0))) || step > aim.step + EVERY;
    }
    case 'finishing': return checkpointStep(run) === STEPS;
  }
}

/** What the run directory holds after the kill, for the trial's log line. */
function runState(run: string): string {
  if (!existsSync(run)) return 'no directory';
  const step = checkpointStep(run);
  const others = listDir(run).filter((f) => f !== 'checkpoint');
  return [step >= 0 ? `checkpoint at step ${step}` : 'no checkpoint', ...others].join(', ');
}

const gpu = await gpuOrSkip();

describe.skipIf(!gpu.gpu)(`kill -9 during interp train-sae${gpu.reason ? ` (skipped: ${gpu.reason})` : ''}`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'interp-kill-sae-'));
  const env = { INTERP_CACHE_DIR: path.join(dir, 'cache') };
  const capture = path.join(dir, 'capture');
  // 30 steps of 128 tokens over ~2,700 training rows: the run crosses an epoch boundary.
  const args = (out: string) => ['train-sae', '--capture', capture, '--hook', 'resid_post.1', '--out', out, '--arch', 'topk', '--width', '64', '--k', '4', '--batch-tokens', '128', '--tokens', String(STEPS * 128), '--checkpoint-every', String(EVERY), '--no-report'];
  const reference = path.join(dir, 'reference');
  /** Files compared byte for byte (metrics.json holds wall time, manifest.json the command line). */
  const SAME = ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors', 'checkpoint/cfg.json', 'checkpoint/sae_weights.safetensors', 'checkpoint/trainer_state.safetensors', 'checkpoint/trainer.json'];

  beforeAll(async () => {
    const data = path.join(dir, 'stories.jsonl');
    writeFileSync(data, `${tinyworldDataset('tinyworld:corpus', { count: 32 }).join('\n')}\n`);
    const c = await runInterp(['capture', '--model', MODEL, '--dataset', data, '--hooks', 'resid_post.1', '--out', capture, '--no-report'], env);
    expect(c.code, c.stderr).toBe(0);
    const r = await runInterp(args(reference), env);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** metrics.json without what may differ (wall time, whether resumed, initialisation facts). */
  const heldOutMetrics = (run: string) => {
    const m = JSON.parse(readFileSync(path.join(run, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    const keys = ['hook', 'arch', 'd_in', 'd_sae', 'k', 'tokens', 'metrics', 'eval_tokens', 'dead_fraction_training_window', 'cosine', 'norm_ratio', 'histogram'];
    return Object.fromEntries(keys.map((k) => [k, m[k]]));
  };

  async function trial(i: number, aim: Aim): Promise<{ killed: boolean; line: string }> {
    const out = path.join(dir, `trial-${i}`);
    const { child, stderr } = spawnInterp(args(out), env);
    const delay = aim.kind === 'checkpoint-swap' ? 0 : aim.delayMs;
    const end = await killWhen(child, () => reached(out, aim), delay);
    const at = runState(out);
    if (!end.killed) expect(end.code, `trial ${i} exited on its own before the kill: ${stderr()}`).toBe(0);

    const resumed = await runInterp([...args(out), '--resume', '--json'], env);
    const what = `trial ${i} (${describeAim(aim)}; killed with ${at})`;
    expect(resumed.code, `${what}: ${resumed.stderr}`).toBe(0);
    expect(listDir(out).sort(), `${what}: run directory`).toEqual(listDir(reference).sort());
    expect(listDir(path.join(out, 'checkpoint')).sort(), `${what}: checkpoint`).toEqual(listDir(path.join(reference, 'checkpoint')).sort());
    for (const f of SAME) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(reference, f))), `${what}: ${f} differs`).toBe(true);
    expect(heldOutMetrics(out), `${what}: metrics.json`).toEqual(heldOutMetrics(reference));
    for (const at of [out, path.join(out, 'checkpoint')]) {
      const loaded = loadSae(at).sae;
      expect(loaded.cfg.architecture).toBe('topk');
      expect(loaded.weights.W_dec.length).toBe(64 * 128);
    }
    rmSync(out, { recursive: true, force: true });
    return { killed: end.killed, line: `trial ${String(i).padStart(2)}: aimed ${describeAim(aim).padEnd(26)} ${end.killed ? `killed at ${Math.round(end.ms)} ms` : 'finished first'} → ${at}` };
  }

  it(`${TRIALS} seeded kills each resume into the uninterrupted run's SAE, bit for bit`, async () => {
    const results = await inPool(aims().map((aim, i) => () => trial(i, aim)), PARALLEL);
    console.info(`kill-train-sae (${STEPS} steps, checkpoint every ${EVERY}):\n${results.map((r) => r.line).join('\n')}`);
    expect(results.filter((r) => r.killed).length).toBeGreaterThanOrEqual(TRIALS - 2);
  }, 300_000);
});
