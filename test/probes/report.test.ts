/**
 * The probe report in headless Chromium: loads with no console errors, renders the layer sweep,
 * the per-class logit histograms, the PCA scatter and the logit-lens table, and is listed in
 * reports/index.html.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { chromiumMissing, closeChromium, expectAnswerFirst, openInChromium, suiteName } from '../helpers/browser.js';
import { probeFixture } from './helpers.js';

describe.skipIf(chromiumMissing !== undefined)(suiteName('probe report in Chromium'), () => {
  afterAll(async () => { await closeChromium(); });

  it('renders the sweep, histograms, PCA and logit lens, and is linked from the index', async () => {
    const fx = await probeFixture();
    const reports = path.join(fx.dir, 'reports');
    const r = await runCli(['train-probe', '--capture', fx.capture, '--label', 'animal', '--out', path.join(fx.dir, 'run'), '--reports', reports, '--json'], { INTERP_CACHE_DIR: fx.cacheDir });
    expect(r.code, r.stderr).toBe(0);
    const file = JSON.parse(r.stdout).report as string;
    expect(path.basename(file)).toBe('probe-animal-run.html');
    const page = await openInChromium(file);
    await expectAnswerFirst(page, expect); // a result above the fold at 1280×800, the run card collapsed at the end
    expect(page.consoleErrors).toEqual([]);
    expect(page.pageErrors).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.plotState).toBe('ready');
    expect(page.plots.length).toBe(3); // sweep, histogram (binary: one figure), PCA
    expect(page.plots.every((p) => p.points > 0)).toBe(true);
    expect(page.plots[0].traces).toBe(7); // train, test, AUC, baseline, control, selectivity, majority
    const body = await page.text('body');
    expect(body).toContain('Layer sweep');
    expect(body).toContain('blocks.1.hook_resid_post');
    expect(body).toMatch(/top tokens \(W_U·w\)/);
    expect(body).toMatch(/cat|dog/);
    await page.close();
    const index = await openInChromium(path.join(reports, 'index.html'));
    expect(await index.text('body')).toContain('Probe animal');
    await index.close();
  });
});
