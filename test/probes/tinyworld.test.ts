/**
 * Issue 6 acceptance on TinyWorld: the mood probe reaches test accuracy ≥ 0.95 at its best layer,
 * beats the random-direction baseline there, and the shuffled-label control stays near chance.
 * Skips when datasets/tinyworld/model has no weights yet.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const MODEL = path.join(REPO_ROOT, 'datasets/tinyworld/model');

describe.skipIf(!existsSync(path.join(MODEL, 'model.safetensors')))('TinyWorld mood probe', () => {
  it('reaches ≥ 0.95 test accuracy at the best layer; the shuffled-label control is near chance', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-tw-mood-'));
    const capture = path.join(dir, 'mood');
    const c = runCli(['capture', '--model', MODEL, '--dataset', 'tinyworld:mood', '--hooks', 'resid_post.0,resid_post.1,resid_post.2,resid_post.3', '--positions', 'pos', '--out', capture, '--no-report']);
    expect(c.code, c.stderr).toBe(0);
    const r = runCli(['train-probe', '--capture', capture, '--label', 'label', '--out', path.join(dir, 'run'), '--no-report', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { layers: { hook: string; train_acc: number; test_acc: number; auc: number; baseline_acc: number; control_acc: number; selectivity: number }[]; best: { hook: string; test_acc: number }; shuffled_control: { test_acc: number; chance: number } };
    console.table(j.layers.map((l) => ({ hook: l.hook, train: l.train_acc.toFixed(3), test: l.test_acc.toFixed(3), auc: l.auc.toFixed(3), baseline: l.baseline_acc.toFixed(3), control: l.control_acc.toFixed(3), selectivity: l.selectivity.toFixed(3) })));
    console.log('shuffled-label control:', j.shuffled_control);
    expect(j.best.test_acc).toBeGreaterThanOrEqual(0.95);
    const best = j.layers.find((l) => l.hook === j.best.hook);
    expect(best?.test_acc ?? 0).toBeGreaterThan((best?.baseline_acc ?? 1) + 0.2);
    // Four balanced classes: chance is 0.25; allow sampling noise on 400 test rows.
    expect(Math.abs(j.shuffled_control.test_acc - 0.25)).toBeLessThan(0.08);
  }, 600_000);
});
