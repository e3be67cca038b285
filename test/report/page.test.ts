import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReportPage, lineFigure, raw, table } from '../../src/report/index.js';
import { chromiumMissing, closeChromium, openInChromium, suiteName } from '../helpers/browser.js';
import { DEMO_PLOTS, DEMO_TOKENS, demoPage } from './demo-page.js';

const tempReports = (): string => mkdtempSync(path.join(tmpdir(), 'interp-reports-'));

describe('ReportPage without a browser', () => {
  it('loads plotly only when a figure is on the page', () => {
    const plain = new ReportPage({ title: 't', kind: 'demo' }).section('s', [table({ columns: ['a'], rows: [[1]] })]).render();
    expect(plain.usesPlotly).toBe(false);
    expect(plain.html).not.toContain('plotly.min.js');
    const plotted = new ReportPage({ title: 't', kind: 'demo' }).section('s', [lineFigure({ series: [{ name: 'a', y: [1, 2] }] })]).render();
    expect(plotted.usesPlotly).toBe(true);
    expect(plotted.html).toContain('<script src="assets/plotly.min.js" data-plotly>');
  });

  it('copies plotly once, skips an identical copy, and refers to it relatively from subfolders', async () => {
    const dir = tempReports();
    const page = demoPage();
    const first = await page.write({ reportsDir: dir, name: 'demo' });
    const asset = path.join(dir, 'assets', 'plotly.min.js');
    const before = statSync(asset);
    const nested = await page.write({ reportsDir: dir, name: 'probes/layer/sweep' });
    expect(statSync(asset).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(asset).ino).toBe(before.ino);
    expect(readFileSync(first.file, 'utf8')).toContain('src="assets/plotly.min.js"');
    expect(readFileSync(nested.file, 'utf8')).toContain('src="../../assets/plotly.min.js"');
    expect(readFileSync(nested.file, 'utf8')).toContain('href="../../index.html"');
    // No temporary files are left behind.
    const leftovers = (await import('node:fs')).readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'));
    expect(leftovers).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it('writes under $INTERP_REPORTS_DIR when no directory is given', async () => {
    const dir = tempReports();
    process.env.INTERP_REPORTS_DIR = dir;
    try {
      const written = await new ReportPage({ title: 'env', kind: 'demo' }).write({ name: 'env' });
      expect(written.file).toBe(path.join(dir, 'env.html'));
      expect(existsSync(written.indexFile)).toBe(true);
    } finally {
      delete process.env.INTERP_REPORTS_DIR;
    }
  });
});

describe.skipIf(chromiumMissing !== undefined)(suiteName('ReportPage in Chromium'), () => {
  afterAll(closeChromium);

  it('the demo page with every component loads cleanly and renders every plot with its data', async () => {
    const dir = tempReports();
    const written = await demoPage().write({ reportsDir: dir, name: 'nested/demo' });
    const opened = await openInChromium(written.file);
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.pageErrors).toEqual([]);
    expect(opened.dialogs).toEqual([]);
    expect(opened.externalRequests).toEqual([]);
    expect(opened.plotState).toBe('ready');
    expect(opened.plots.map(({ traces, points }) => ({ traces, points }))).toEqual(DEMO_PLOTS);
    // Plotly drew SVG for each plot (not just an empty container).
    const drawn = (await opened.page.evaluate(`Array.from(document.querySelectorAll('.js-plotly-plot')).map(function (el) { return el.querySelectorAll('.plot path, .plot image, .plot rect').length; })`)) as number[];
    expect(drawn.every((n) => n > 0)).toBe(true);
    await opened.page.click('details.run-card summary'); // the run card is collapsed at the end of the page
    expect(await opened.text('.manifest')).toContain('interp capture --model gpt2');
    expect(await opened.text('#s-tokens .tokens')).toContain('The cat sat on the mat.');
    const title = await opened.page.locator('#s-tokens .tok').nth(2).getAttribute('title');
    expect(title).toBe(`${JSON.stringify(DEMO_TOKENS[2])} · position 2\nlatent 1234: 3.2`);
    // Duplicate tokens stay separate heatmap columns (tick text per index).
    const ticks = (await opened.page.evaluate(`Array.from(document.querySelectorAll('#plot-4 .xtick text')).map(function (t) { return t.textContent; })`)) as string[];
    expect(ticks.length).toBe(DEMO_TOKENS.length);
    await opened.close();
    rmSync(dir, { recursive: true });
  });

  it('a page whose plotly copy is missing says so in place of each plot', async () => {
    const dir = tempReports();
    const written = await new ReportPage({ title: 'no plotly', kind: 'demo' }).section('s', [lineFigure({ series: [{ name: 'a', y: [1, 2, 3] }] })]).write({ reportsDir: dir, name: 'p' });
    rmSync(path.join(dir, 'assets'), { recursive: true });
    const opened = await openInChromium(written.file);
    expect(opened.plotState).toBe('error');
    expect(await opened.text('.plot')).toContain('assets/plotly.min.js is missing');
    expect(opened.externalRequests).toEqual([]);
    await opened.close();
    rmSync(dir, { recursive: true });
  });

  it('the Content-Security-Policy stops injected scripts even when markup gets through raw()', async () => {
    const dir = tempReports();
    const written = await new ReportPage({ title: 'csp', kind: 'demo' })
      .add(raw('<script>alert("inline")</script><img src="x" onerror="alert(\'handler\')"><img src="http://example.invalid/x.png">'))
      .section('plot', [lineFigure({ series: [{ name: 'a', y: [1, 2, 3] }] })])
      .write({ reportsDir: dir, name: 'csp' });
    const opened = await openInChromium(written.file);
    expect(opened.dialogs).toEqual([]);
    expect(opened.plotState).toBe('ready'); // the page's own boot script is allowed by its hash
    // The harness sees the attempt (and would abort it); the policy already blocked it.
    expect(opened.externalRequests).toEqual(['http://example.invalid/x.png']);
    expect(opened.consoleErrors.some((e) => e.includes('http://example.invalid/x.png') && e.includes('Content Security Policy'))).toBe(true);
    expect(opened.consoleErrors.some((e) => e.includes('Executing inline script violates'))).toBe(true);
    await opened.close();
    rmSync(dir, { recursive: true });
  });
});
