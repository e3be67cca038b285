/**
 * `interp train-probe` and `interp probe` end to end on a small capture: the --json contract,
 * the files per layer, scoring a capture, and refusals of bad input that write nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProbe } from '../../probes/index.js';
import { runCli } from '../helpers/cli.js';
import { probeFixture, type ProbeFixture } from './helpers.js';

let fx: ProbeFixture;
beforeAll(async () => { fx = await probeFixture(); });

async function train(args: string[]) {
  return await runCli(['train-probe', '--capture', fx.capture, '--reports', path.join(fx.dir, 'reports'), '--json', ...args], { INTERP_CACHE_DIR: fx.cacheDir });
}

describe('interp train-probe', () => {
  it('sweeps every captured hook, saves probe.safetensors + probe.json per layer, and prints the JSON contract', async () => {
    const out = path.join(fx.dir, 'run-animal');
    const r = await train(['--label', 'animal', '--out', out, '--no-report']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { layers: Record<string, unknown>[]; best: { hook: string; test_acc: number } };
    expect(j.layers.map((l) => l.hook)).toEqual(['blocks.0.hook_resid_post', 'blocks.1.hook_resid_post']);
    for (const l of j.layers) {
      for (const key of ['hook', 'train_acc', 'test_acc', 'auc', 'baseline_acc', 'selectivity', 'path']) expect(l).toHaveProperty(key);
      expect(existsSync(path.join(l.path as string, 'probe.safetensors'))).toBe(true);
      const probe = loadProbe(l.path as string);
      expect(probe.weight.length).toBe(32); // binary: weight [d]
      expect(probe.json.label.classes).toEqual(['cat', 'dog']);
      expect(probe.json.capture.manifest_sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    // The label is the last token itself: any layer reads it.
    expect(j.best.test_acc).toBeGreaterThan(0.9);
    expect(JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')).format).toBe('interp.probe-sweep');
  });

  it('--split 1 reports train metrics only; mean-diff and --standardize save mean and scale', async () => {
    const out = path.join(fx.dir, 'run-md');
    const r = await train(['--label', 'animal', '--out', out, '--no-report', '--split', '1', '--kind', 'mean-diff', '--standardize', '--hooks', 'resid_post.1']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { layers: { test_acc: number | null; train_acc: number; selectivity: number | null; path: string }[] };
    expect(j.layers).toHaveLength(1);
    expect(j.layers[0].test_acc).toBeNull();
    expect(j.layers[0].selectivity).toBeNull();
    expect(j.layers[0].train_acc).toBeGreaterThan(0.9);
    const probe = loadProbe(j.layers[0].path);
    expect(probe.mean?.length).toBe(32);
    expect(probe.scale?.length).toBe(32);
    expect(probe.json.input).toBe('(x - mean) / scale');
  });

  it('interp probe scores a capture per token and refuses a capture from another model', async () => {
    const out = path.join(fx.dir, 'run-apply');
    expect((await train(['--label', 'animal', '--out', out, '--no-report', '--hooks', 'resid_post.1'])).code).toBe(0);
    const probeDir = path.join(out, 'blocks.1.hook_resid_post');
    const scores = path.join(fx.dir, 'scores.jsonl');
    const r = await runCli(['probe', '--probe', probeDir, '--capture', fx.capture, '--out', scores, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { rows: number; accuracy: number };
    expect(j.rows).toBe(120);
    expect(j.accuracy).toBeGreaterThan(0.9);
    const lines = readFileSync(scores, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { score: number; predicted: string });
    expect(lines).toHaveLength(120);
    expect(lines.every((l) => l.score >= 0 && l.score <= 1 && ['cat', 'dog'].includes(l.predicted))).toBe(true);
    const other = path.join(fx.dir, 'scores-b.jsonl');
    const bad = await runCli(['probe', '--probe', probeDir, '--capture', fx.otherCapture, '--out', other]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/captured from model .* but the probe was trained on/);
    expect(existsSync(other)).toBe(false);
  });

  it.each([
    [['--label', 'nope'], /no label column "nope" \(label columns: animal, constant, parity\)/],
    [['--label', 'constant'], /one class only \("x"\)/],
    [['--label', 'animal', '--hooks', 'resid_post.7'], /hook "resid_post.7" is not in this capture/],
    [['--label', 'animal', '--kind', 'svm'], /--kind svm: expected logistic or mean-diff/],
    [['--label', 'animal', '--split', '0'], /--split 0: the train fraction must be in \(0, 1\]/],
  ])('refuses %j with a clear message and writes nothing', async (args, message) => {
    const out = path.join(fx.dir, `bad-${Math.random().toString(36).slice(2)}`);
    const reports = path.join(fx.dir, 'reports');
    const before = existsSync(reports) ? readdirSync(reports).length : 0;
    const r = await train([...args, '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/fix:/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(reports) ? readdirSync(reports).length : 0).toBe(before);
  });
});
