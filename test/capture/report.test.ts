/**
 * The capture report in headless Chromium: it loads with no console errors, its plots render
 * with data, and prompts, tokens and labels carrying script are shown as text and run nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { chromiumMissing, closeChromium, expectAnswerFirst, openInChromium, suiteName } from '../helpers/browser.js';
import { writeWordModel } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';

const XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const WORDS = ['once', 'upon', 'a', 'time', 'cat', 'dog', XSS, '"\'><svg/onload=alert(3)>'];

describe.skipIf(chromiumMissing !== undefined)(suiteName('capture report in Chromium'), () => {
  afterAll(async () => { await closeChromium(); });

  it('renders its plots with data, shows hostile prompts and labels as text, and runs no script', async () => {
    const cacheDir = isolateCache();
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-capreport-'));
    const modelDir = path.join(dir, 'model');
    writeWordModel(modelDir, WORDS, 9);
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({
      text: `once upon a time ${XSS} ${i % 2 ? 'cat' : 'dog'} ${WORDS[7]}`,
      animal: i % 2 ? `cat ${XSS}` : 'dog',
    }));
    writeFileSync(path.join(dir, 'data.jsonl'), lines.join('\n'));
    const reports = path.join(dir, 'reports');
    const r = await runCli(['capture', '--model', modelDir, '--dataset', path.join(dir, 'data.jsonl'), '--hooks', 'resid_post.0,resid_post.1', '--out', path.join(dir, 'cap'), '--reports', reports, '--json'], { INTERP_CACHE_DIR: cacheDir });
    expect(r.code, r.stderr).toBe(0);
    const file = JSON.parse(r.stdout).report as string;
    const page = await openInChromium(file);
    await expectAnswerFirst(page, expect); // a result above the fold at 1280×800, the run card collapsed at the end
    expect(page.consoleErrors).toEqual([]);
    expect(page.pageErrors).toEqual([]);
    expect(page.dialogs).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.plotState).toBe('ready');
    expect(page.plots.length).toBe(3); // norms per hook, PCA, histogram
    expect(page.plots.every((p) => p.points > 0)).toBe(true);
    const pcaPoints = page.plots.find((p) => p.traces === 2); // one trace per label value
    expect(pcaPoints?.points).toBeGreaterThanOrEqual(40 * 9 / 2);
    const legend = (await page.page.evaluate("[...document.querySelectorAll('.legendtext')].map((e) => e.textContent ?? '')")) as string[];
    expect(legend).toContain(`cat ${XSS}`);
    expect(await page.page.evaluate(`document.querySelectorAll('img[src="x"], svg[onload]').length`)).toBe(0);
    await page.close();
    const index = await openInChromium(path.join(reports, 'index.html'));
    expect(await index.text('body')).toContain('Capture cap');
    await index.close();
  });
});
