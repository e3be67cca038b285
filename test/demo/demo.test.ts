/**
 * `interp demo --quick` end to end: interrupted with kill -9 after its second stage (the whole
 * process group, so the running stage dies too), resumed to the end, then re-run as a no-op.
 * The overview page must open in Chromium with its plots, link only to reports that exist, and
 * quote the stages' own numbers. The full-size demo runs in CI as the README's set-up command.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeOverview } from '../../src/demo/overview.js';
import type { DemoState } from '../../src/demo/run.js';
import { STAGE_NAMES } from '../../src/demo/stages.js';
import { chromiumMissing, closeChromium, openInChromium, suiteName } from '../helpers/browser.js';
import { CLI_ENTRY, runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'interp-demo-'));
afterAll(async () => {
  await closeChromium();
  rmSync(work, { recursive: true, force: true });
});

const readState = (out: string): DemoState => JSON.parse(readFileSync(path.join(out, 'demo.json'), 'utf8')) as DemoState;

/** Starts the demo in its own process group and SIGKILLs the group once `stage` is recorded as done. */
async function killAfterStage(out: string, stage: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'demo', '--quick', '--out', out], { cwd: REPO_ROOT, detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 240_000;
  for (;;) {
    const done = existsSync(path.join(out, 'demo.json')) && stage in readState(out).stages;
    if (done || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.kill(-(child.pid as number), 'SIGKILL');
  await exited;
}

describe('interp demo --quick', () => {
  const out = path.join(work, 'demo');

  it('resumes after kill -9, finishes, and writes an overview that links every report', async () => {
    await killAfterStage(out, 'train-probe');
    const killed = readState(out);
    expect(Object.keys(killed.stages)).toEqual(['capture-probe-set', 'train-probe']);

    const run = await runCli(['demo', '--quick', '--out', out], {}, 360_000);
    expect(run.stderr).toContain('done in an earlier run, skipped');
    expect(run.code, run.stderr).toBe(0);
    const overview = path.join(out, 'reports', 'overview.html');
    expect(run.stdout).toContain(`overview: ${overview}`);
    // The terminal ends with the headline table, each figure read from the stage results.
    const acc = readState(out).stages['train-probe']?.result as { best: { test_acc: number } };
    expect(run.stdout).toMatch(new RegExp(`probe +best layer resid_post\\.\\d, test accuracy ${acc.best.test_acc.toFixed(3)}`));
    for (const row of ['SAE  ', 'SAE 1-sparse probing', 'steering  ', 'steering control']) expect(run.stdout).toContain(row);
    expect(run.stdout).toMatch(/explained variance \d\.\d{3}, L0 [\d.]+, dead [\d.]+%, CE-loss score -?\d\.\d{4}/);

    const state = readState(out);
    expect(Object.keys(state.stages).sort()).toEqual([...STAGE_NAMES].sort());
    for (const name of STAGE_NAMES) {
      const stage = state.stages[name];
      expect(stage?.command[0]).toBe('interp');
      for (const r of stage?.reports ?? []) expect(existsSync(path.join(out, 'reports', r.path)), r.path).toBe(true);
    }
    // The stages' own figures: the probe and the steering vector work even at the quick budget.
    const probe = state.stages['train-probe']?.result as { best: { test_acc: number } };
    expect(probe.best.test_acc).toBeGreaterThan(0.9);
    const steer = state.stages.steer?.result as { results: { success_rate: number }[]; baseline: { success_rate: number } };
    expect(steer.results.at(-1)?.success_rate).toBeGreaterThan(steer.baseline.success_rate + 0.3);
    const sae = state.stages['train-sae']?.result as { metrics: { explained_variance: number; l0: number } };
    expect(sae.metrics.l0).toBe(16);
    expect(existsSync(path.join(out, 'runs', 'sae', 'attributes.json'))).toBe(true);
  }, 600_000);

  it('a second run redoes nothing and rewrites the overview', async () => {
    const before = readState(out);
    const run = await runCli(['demo', '--quick', '--out', out, '--json'], {}, 120_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.match(/skipped/g)).toHaveLength(STAGE_NAMES.length);
    expect(readState(out)).toEqual(before);
    const doc = JSON.parse(run.stdout) as { overview: string };
    expect(existsSync(doc.overview)).toBe(true);
  }, 180_000);

  it.skipIf(chromiumMissing !== undefined)(suiteName('the overview opens in Chromium: plots, no errors, live links'), async () => {
    const page = await openInChromium(path.join(out, 'reports', 'overview.html'));
    try {
      expect(page.consoleErrors).toEqual([]);
      expect(page.pageErrors).toEqual([]);
      expect(page.plotState).toBe('ready');
      expect(page.plots.length).toBe(2);
      const hrefs = (await page.page.evaluate(`Array.from(document.querySelectorAll('a[href]')).map(function (a) { return a.href; })`)) as string[];
      const files = hrefs.filter((h) => h.startsWith('file:')).map((h) => decodeURIComponent(new URL(h).pathname));
      expect(files.length).toBeGreaterThanOrEqual(5);
      for (const f of files) expect(existsSync(f), f).toBe(true);
      const probe = readState(out).stages['train-probe']?.result as { best: { test_acc: number } };
      expect(await page.text('body')).toContain(`test accuracy ${probe.best.test_acc.toFixed(3)}`);
    } finally {
      await page.close();
    }
  }, 60_000);
});

describe('interp demo refusals', () => {
  it('never writes into a folder that is not a demo folder', async () => {
    const mine = path.join(work, 'mine');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'notes.txt'), 'keep me');
    const run = await runCli(['demo', '--quick', '--out', mine]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`${mine} already exists and is not an interp demo folder`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(path.join(mine, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(existsSync(path.join(mine, 'demo.json'))).toBe(false);
  });

  it('refuses a demo record of another scale instead of mixing two runs', async () => {
    const other = path.join(work, 'other');
    mkdirSync(other);
    const state: DemoState = { format: 'interp.demo', format_version: 1, model: path.join(REPO_ROOT, 'datasets', 'tinyworld', 'model'), scale: 'full', stages: {}, versions: {} };
    writeFileSync(path.join(other, 'demo.json'), JSON.stringify(state));
    const run = await runCli(['demo', '--quick', '--out', other]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('(full), not of');
  });
});

describe.skipIf(chromiumMissing !== undefined)(suiteName('the overview page with hostile stage results'), () => {
  it('shows every payload as text and runs no script', async () => {
    const P = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const out = path.join(work, 'hostile');
    const reports = path.join(out, 'reports');
    mkdirSync(reports, { recursive: true });
    const entry = { name: P, title: `title ${P}`, kind: P, path: `${P}.html`, createdAt: new Date().toISOString() };
    const state: DemoState = {
      format: 'interp.demo', format_version: 1, model: P, scale: 'full', versions: { interp: P },
      stages: {
        'train-probe': { command: ['interp', P], seconds: 1, reports: [entry], result: { best: { hook: P, test_acc: 0.5 }, layers: [{ hook: P, test_acc: 0.5 }] } },
        'train-sae': { command: ['interp', P], seconds: 1, reports: [], result: { hook: P } },
        steer: { command: ['interp', `'${P}`], seconds: 1, reports: [], result: { hooks: [P], knee: { coeff: 0.5, rule: P, success_rate: 1 }, results: [{ coeff: 0, success_rate: 0 }, { coeff: 0.5, success_rate: 1 }] } },
      },
    };
    mkdirSync(path.join(out, 'runs', 'sae'), { recursive: true });
    writeFileSync(path.join(out, 'runs', 'sae', 'attributes.json'), JSON.stringify({ next_word: { matches: [{ attribute: P, latent: 1, f1: 0.9, precision: 1, recall: 0.8 }] }, state: { matches: [{ attribute: P, latent: 2, f1: 0.5 }] } }));
    const file = await writeOverview(state, out);
    const page = await openInChromium(file);
    try {
      expect(page.dialogs).toEqual([]);
      expect(page.pageErrors).toEqual([]);
      expect(page.externalRequests).toEqual([]);
      const text = await page.text('body');
      expect(text).toContain(`title ${P}`);
      // attributes.json's next-word table, not its story-state one.
      expect(text).toContain('1 of 1 known attributes');
      // The command lines sit in a closed <details>, so read them from the DOM rather than innerText.
      const commands = (await page.page.evaluate(`Array.from(document.querySelectorAll('pre code')).map(function (c) { return c.textContent; })`)) as string[];
      expect(commands).toContain(`interp '${P}'`);
      expect(await page.page.evaluate(`document.querySelectorAll('img').length`)).toBe(0);
    } finally {
      await page.close();
    }
  }, 60_000);
});
