/**
 * `interp vector`, `interp steer` and `interp generate --steer` end to end on the TinyWorld model
 * (few prompts: this checks the plumbing and the output contract, test/steering/tinyworld.test.ts
 * checks the effect), the steering report in headless Chromium, and the refusals.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINYWORLD_MODEL_DIR } from '../../datasets/tinyworld/index.js';
import { PROBE_FORMAT, PROBE_FORMAT_VERSION, saveProbe } from '../../probes/index.js';
import { sadOpenings } from '../../datasets/tinyworld/index.js';
import { loadVector } from '../../steering/vector.js';
import { chromiumMissing, closeChromium, expectAnswerFirst, openInChromium, suiteName } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { isolateCache } from '../helpers/fixtures.js';

const M = TINYWORLD_MODEL_DIR;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  env = { INTERP_CACHE_DIR: isolateCache() };
  dir = mkdtempSync(path.join(tmpdir(), 'interp-steer-cli-'));
  writeFileSync(path.join(dir, 'sad.jsonl'), sadOpenings(4).map((o) => JSON.stringify(o)).join('\n'));
});

describe('interp vector and interp steer', () => {
  afterAll(async () => { await closeChromium(); });

  it('makes per-layer vectors, sweeps them, prints the --json contract, and writes a report that renders', async () => {
    const vecs = path.join(dir, 'vecs');
    const v = await runCli(['vector', '--model', M, '--pairs', 'tinyworld:pairs-happy-sad', '--max-pairs', '40', '--hook', 'resid_post.2,resid_post.3', '--position', 'from-first-difference', '--out', vecs, '--json'], env);
    expect(v.code, v.stderr).toBe(0);
    const made = JSON.parse(v.stdout) as { vectors: { hook: string; norm: number }[] };
    expect(made.vectors.map((x) => x.hook)).toEqual(['blocks.2.hook_resid_post', 'blocks.3.hook_resid_post']);
    const reports = path.join(dir, 'reports');
    const s = await runCli(['steer', '--model', M, '--vector', vecs, '--prompts', path.join(dir, 'sad.jsonl'), '--neutral', 'tinyworld:neutral', '--max-neutral', '8',
      '--sweep', '0:1x-norm:3', '--behavior', 'tinyworld:mood=happy', '--control', '--max-new-tokens', '12', '--out', path.join(dir, 'run'), '--reports', reports, '--json'], env);
    expect(s.code, s.stderr).toBe(0);
    const out = JSON.parse(s.stdout) as Record<string, unknown> & { results: Record<string, number>[]; knee: { coeff: number } | null; layers: unknown[]; hooks: string[]; report: string };
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['vector', 'hooks', 'results', 'knee']));
    expect(out.results).toHaveLength(3);
    for (const r of out.results) expect(Object.keys(r)).toEqual(expect.arrayContaining(['coeff', 'behavior', 'success_rate', 'kl', 'neutral_ce_delta']));
    expect(out.results[0].kl).toBe(0); // coefficient 0 is the baseline
    expect(out.results[0].neutral_ce_delta).toBe(0);
    expect(out.results[2].kl).toBeGreaterThan(0);
    expect(out.layers).toHaveLength(2);
    expect(out.control).not.toBeNull();
    const full = JSON.parse(readFileSync(path.join(dir, 'run', 'steer.json'), 'utf8')) as { baseline: unknown[]; model: { hash: string } };
    expect(full.baseline).toHaveLength(4);
    expect(full.model.hash).toMatch(/^[0-9a-f]{64}$/);
    if (chromiumMissing !== undefined) return;
    const page = await openInChromium(out.report);
    await expectAnswerFirst(page, expect); // a result above the fold at 1280×800, the run card collapsed at the end
    expect(page.consoleErrors).toEqual([]);
    expect(page.pageErrors).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.plotState).toBe('ready');
    // effect vs cost, effect vs coefficient, layer × coefficient heatmap, steerability histogram
    expect(page.plots.length).toBe(4);
    expect(page.plots.every((p) => p.points > 0)).toBe(true);
    expect(await page.page.evaluate("document.querySelectorAll('.tok').length")).toBeGreaterThan(4 * 12);
    const body = await page.text('body');
    expect(body).toContain('logit lens');
    expect(body).toContain('Knee');
    await page.close();
  });

  it('ablates at every layer without a coefficient, and refuses bad combinations with a fix', async () => {
    const vec = path.join(dir, 'one');
    expect((await runCli(['vector', '--model', M, '--pairs', 'tinyworld:pairs-happy-sad', '--max-pairs', '20', '--hook', 'resid_post.3', '--method', 'pca', '--out', vec], env)).code).toBe(0);
    const a = await runCli(['steer', '--model', M, '--vector', vec, '--ablate-all', '--prompts', path.join(dir, 'sad.jsonl'), '--max-prompts', '2', '--max-new-tokens', '6', '--out', path.join(dir, 'abl'), '--no-report', '--json'], env);
    expect(a.code, a.stderr).toBe(0);
    expect((JSON.parse(a.stdout) as { hooks: string[] }).hooks).toHaveLength(1 + 2 * 4);
    const noCoeff = await runCli(['steer', '--model', M, '--vector', vec, '--prompts', path.join(dir, 'sad.jsonl'), '--out', path.join(dir, 'x'), '--no-report'], env);
    expect(noCoeff.code).not.toBe(0);
    expect(noCoeff.stderr).toMatch(/exactly one of --coeff c and --sweep a:b:n\n\s+fix:/);
    const both = await runCli(['steer', '--model', M, '--vector', vec, '--ablate', '--coeff', '2', '--prompts', path.join(dir, 'sad.jsonl'), '--out', path.join(dir, 'x'), '--no-report'], env);
    expect(both.stderr).toMatch(/takes no coefficient/);
    const badHook = await runCli(['steer', '--model', M, '--vector', vec, '--hooks', 'resid_psot.1', '--coeff', '1', '--prompts', path.join(dir, 'sad.jsonl'), '--out', path.join(dir, 'x'), '--no-report'], env);
    expect(badHook.stderr).toMatch(/unknown hook "resid_psot.1"/);
    const noSource = await runCli(['vector', '--model', M, '--out', path.join(dir, 'y')], env);
    expect(noSource.stderr).toMatch(/exactly one vector source/);
  });

  it('monitor mode reports a probe score per generated token and flags tokens above the threshold, with and without steering', async () => {
    const vec = path.join(dir, 'one');
    const v = loadVector(vec).vector;
    const probeDir = path.join(dir, 'probe');
    saveProbe(probeDir, {
      json: {
        format: PROBE_FORMAT, format_version: PROBE_FORMAT_VERSION, hook: 'blocks.3.hook_resid_post', d: v.length, kind: 'mean-diff',
        label: { field: 'mood', classes: ['sad', 'happy'], positive: 'happy' }, output: 'binary', preprocess: 'none', input: 'x',
        training: {}, metrics: { train_acc: 1, test_acc: null, auc: null, baseline_acc: null, control_acc: null, selectivity: null, majority_acc: null },
        definitions: { baseline: '', control: '', auc: '' }, capture: { dir: '', manifest_sha256: '', model: { id: M, hash: 'x' }, rows: 0 }, versions: {}, command: [],
      },
      weight: Float32Array.from(v, (x) => x / 50), bias: Float32Array.from([0]), k: 1, d: v.length,
    });
    const alone = await runCli(['steer', '--model', M, '--monitor', probeDir, '--prompts', path.join(dir, 'sad.jsonl'), '--max-prompts', '2', '--max-new-tokens', '8', '--out', path.join(dir, 'mon0'), '--no-report', '--json'], env);
    expect(alone.code, alone.stderr).toBe(0);
    const m0 = JSON.parse(alone.stdout).monitor as { threshold: number; baseline: { flagged: number[][]; mean_score: number } };
    expect(m0.threshold).toBe(0.5);
    expect(m0.baseline.flagged).toHaveLength(2);
    const steered = await runCli(['steer', '--model', M, '--monitor', probeDir, '--vector', vec, '--coeff', '1x-norm', '--prompts', path.join(dir, 'sad.jsonl'), '--max-prompts', '2', '--max-new-tokens', '8', '--out', path.join(dir, 'mon1'), '--no-report', '--json'], env);
    expect(steered.code, steered.stderr).toBe(0);
    const m1 = JSON.parse(steered.stdout).monitor as { steered: { mean_score: number } };
    expect(m1.steered.mean_score).toBeGreaterThan(m0.baseline.mean_score); // adding the happy direction raises the happy probe
  });

  it('generate --steer adds the vector for one-off use, and coefficient 0 changes nothing', async () => {
    const vec = path.join(dir, 'one');
    const prompt = sadOpenings(1)[0].text;
    const base = await runCli(['generate', '--model', M, '--prompt', prompt, '--max-new-tokens', '10', '--json'], env);
    const zero = await runCli(['generate', '--model', M, '--prompt', prompt, '--max-new-tokens', '10', '--steer', vec, '--coeff', '0', '--json'], env);
    const steered = await runCli(['generate', '--model', M, '--prompt', prompt, '--max-new-tokens', '10', '--steer', vec, '--coeff', '1x-norm', '--positions', 'all', '--json'], env);
    expect(base.code, base.stderr).toBe(0);
    expect(JSON.parse(zero.stdout).ids).toEqual(JSON.parse(base.stdout).ids);
    expect(JSON.parse(steered.stdout).ids).not.toEqual(JSON.parse(base.stdout).ids);
    const plain = await runCli(['generate', '--model', M, '--prompt', prompt, '--steer', path.join(vec, 'vector.safetensors'), '--coeff', '1', '--hook', 'resid_pre.1', '--json'], env);
    expect(plain.code, plain.stderr).toBe(0);
  });
});

describe.skipIf(chromiumMissing !== undefined)(suiteName('steering report in Chromium'), () => {
  it('is covered by the CLI test above when Chromium is present', () => { expect(chromiumMissing).toBeUndefined(); });
});
