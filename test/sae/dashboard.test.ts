/**
 * The SAE dashboard in headless Chromium: written from a real capture of a random model whose
 * vocabulary holds hostile tokens, it loads with no console errors or dialogs, every plot renders
 * with data (training curves, L0–EV, density, one histogram per card), latent cards carry top
 * contexts, quantile samples and logit tables, hostile tokens show as text, and the CSS-only
 * latent filter hides rows.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSaeDashboard, type TrainingLogEntry } from '../../sae/dashboard.js';
import type { TokenLabeler } from '../../sae/attributes.js';
import type { Sae } from '../../sae/sae.js';
import { runCli } from '../helpers/cli.js';
import { chromiumMissing, closeChromium, expectAnswerFirst, openInChromium, suiteName } from '../helpers/browser.js';
import { writeWordModel, rng } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';

const XSS = '<script>alert(1)</script>';
const WORDS = ['once', 'upon', 'a', 'time', 'cat', 'dog', XSS, '"\'><img src=x onerror=alert(2)>'];
const D = 32;
const M = 48;
const HOOK = 'blocks.0.hook_resid_post';


function randomSae(): Sae {
  const r = rng(4);
  const n = (len: number, scale: number) => Float32Array.from({ length: len }, () => scale * (r() - 0.5));
  return {
    cfg: {
      architecture: 'relu', d_in: D, d_sae: M, k: null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true, normalize_activations: 'none', reshape_activations: 'none',
      metadata: { sae_lens_version: '6.0.0', model_name: 'random', hook_name: HOOK, hook_head_index: null, context_size: 16, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
    },
    weights: { W_enc: n(D * M, 0.8), W_dec: n(M * D, 0.5), b_enc: n(M, 0.5), b_dec: new Float32Array(D), threshold: null },
  };
}

/** "animal=cat" holds on the token "cat" itself. */
const catLabeler: TokenLabeler = { name: 'toy', attributes: ['animal=cat', `token=${XSS}`], label: (tokens) => tokens.map((t) => (t === 'cat' ? [0] : t === XSS ? [1] : [])) };
const titledLabeler: TokenLabeler = { ...catLabeler, name: 'titled', title: `heading ${XSS}`, description: `sentence ${XSS}` };

describe.skipIf(chromiumMissing !== undefined)(suiteName('SAE dashboard in Chromium'), () => {
  afterAll(async () => { await closeChromium(); });

  it('renders plots and latent cards, shows hostile tokens as text, runs no script', async () => {
    const cacheDir = isolateCache();
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-saedash-'));
    const modelDir = path.join(dir, 'model');
    writeWordModel(modelDir, WORDS, 9);
    const r = rng(2);
    const lines = Array.from({ length: 30 }, () => JSON.stringify({ text: Array.from({ length: 6 + Math.floor(r() * 8) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ') }));
    writeFileSync(path.join(dir, 'data.jsonl'), lines.join('\n'));
    const capture = path.join(dir, 'cap');
    const c = await runCli(['capture', '--model', modelDir, '--dataset', path.join(dir, 'data.jsonl'), '--hooks', HOOK, '--out', capture, '--no-report', '--json'], { INTERP_CACHE_DIR: cacheDir });
    expect(c.code, c.stderr).toBe(0);

    const log: TrainingLogEntry[] = Array.from({ length: 12 }, (_, i) => ({ tokens: (i + 1) * 4096, loss: 1 / (i + 1), l0: 40 - i, explained_variance: 0.5 + i / 30, dead_fraction: i / 24 }));
    const dash = await writeSaeDashboard({
      sae: randomSae(), captureDir: capture, name: 'sae/dash-test', reportsDir: path.join(dir, 'reports'), model: modelDir,
      trainingLog: log, metrics: { l0: 28, explained_variance: 0.87, mse: 0.1 }, runs: [{ name: `run ${XSS}`, l0: 20, explained_variance: 0.8 }],
      attributes: [titledLabeler, catLabeler], cards: 5, batchRows: 64,
    });
    expect(dash.scan.ignoredTokenIds).toContain(1); // BOS, read from the capture model's config
    expect(dash.attributes.map((a) => [a.labeler, a.matches.length])).toEqual([['titled', 2], ['toy', 2]]);
    const cardCount = dash.cards.length;
    expect(cardCount).toBeGreaterThanOrEqual(5);

    const page = await openInChromium(dash.report.file);
    await expectAnswerFirst(page, expect); // a result above the fold at 1280×800, the run card collapsed at the end
    expect(page.consoleErrors).toEqual([]);
    expect(page.pageErrors).toEqual([]);
    expect(page.dialogs).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.plotState).toBe('ready');
    // 4 training curves + L0–EV + density + one activation histogram per card.
    expect(page.plots.length).toBe(4 + 1 + 1 + cardCount);
    expect(page.plots.every((p) => p.points > 0)).toBe(true);
    expect(await page.page.evaluate(`document.querySelectorAll('article.latent-card').length`)).toBe(cardCount);
    expect(await page.page.evaluate(`document.querySelectorAll('article.latent-card table.contexts tr').length`)).toBeGreaterThan(cardCount);
    expect(await page.page.evaluate(`document.querySelectorAll('article.latent-card .tok-highlight').length`)).toBeGreaterThan(0);
    const cardText = await page.text('article.latent-card');
    expect(cardText).toContain('promoted token');
    expect(cardText).toContain('Samples by activation quantile');
    // Hostile tokens are text: the literal string is visible and no element was injected.
    expect(await page.text('body')).toContain(XSS);
    expect(await page.page.evaluate(`document.querySelectorAll('img[src="x"], body script:not([src]):not([type="application/json"])').length`)).toBe(1); // the boot script only
    const attributeText = await page.text('#s-attributes');
    expect(attributeText).toContain('animal=cat');
    expect(attributeText).toContain(`token=${XSS}`);
    // One table per labeling, in the order given, each under its title and description.
    expect(attributeText).toContain(`heading ${XSS}`);
    expect(attributeText.indexOf(`sentence ${XSS}`)).toBeLessThan(attributeText.indexOf('(toy ground truth)'));
    expect(await page.page.evaluate(`document.querySelectorAll('#s-attributes table').length`)).toBe(2);
    // The index lists every latent; the CSS filter hides all but dead ones.
    expect(await page.page.evaluate(`document.querySelectorAll('tr.lrow').length`)).toBe(M);
    await page.page.click('#lf-dead');
    const visible = (await page.page.evaluate(`Array.from(document.querySelectorAll('tr.lrow')).filter(function (r) { return getComputedStyle(r).display !== 'none'; }).length`)) as number;
    expect(visible).toBe(dash.dead);
    await page.close();
  });
});
