/**
 * A page built entirely from hostile data: every place a string from a prompt, token, label,
 * hook name or manifest can reach. It must show each payload as literal text, create no
 * element from it, and open no dialog. The Content-Security-Policy would also stop scripts, so
 * the checks here are on the text and the DOM, which only escaping can get right.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReportPage, callout, columns, details, heatmapFigure, histogramFigure, lineFigure, scatterFigure, table, tokenContexts, tokenText } from '../../src/report/index.js';
import { chromiumMissing, closeChromium, openInChromium, suiteName } from '../helpers/browser.js';

const P1 = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const P2 = `"'><svg onload=alert(3)>`;
const P3 = '</script>';
const PAYLOADS = [P1, P2, P3];
const ALL = PAYLOADS.join(' ');

function hostilePage(): ReportPage {
  const tokens = [P1, ' ', P2, P3, '&amp;', '\n', P1];
  const values = [0.1, 0.5, 2, -1, 0, 0.3, 1];
  const page = new ReportPage({ title: `Title ${ALL}`, kind: `kind ${P2}`, subtitle: `Subtitle ${ALL}` });
  page.manifestCard({ model: P1, hooks: [P2, P3], dataset: { [P1]: P2 }, seed: 1, command: `interp capture --prompt '${ALL}'`, [P2]: P3 });
  page.section(`Heading ${ALL}`, [
    `Prose ${ALL}`,
    table({ caption: `Caption ${P1}`, columns: [P1, { label: P2, help: P3 }], rows: [[P3, P1], [P2, 3]] }),
    lineFigure({ title: `Line ${P1}`, xLabel: P2, yLabel: P3, x: [P1, P2, P3], series: [{ name: P1, y: [1, 2, 3], hover: PAYLOADS }] }),
    scatterFigure({ title: `Scatter ${P3}`, series: [{ name: P2, x: [0, 1, 2], y: [1, 0, 1], hover: PAYLOADS }], colorLabel: P1 }),
    histogramFigure({ title: P2, series: [{ name: P3, values: [1, 2, 3, 4] }] }),
    heatmapFigure({ title: `Heatmap ${P1}`, z: [[1, 2, 3], [4, 5, 6]], xLabels: PAYLOADS, yLabels: [P3, P2], zLabel: P1 }),
  ]);
  page.section(P3, [
    tokenText({ tokens, values, valueLabel: P1, hover: tokens.map(() => P2) }),
    columns([tokenText({ tokens, values })], { titles: [P2] }),
    details(`Summary ${P1}`, [tokenContexts({ contexts: [{ tokens, values, center: 2, label: P2 }] })], { open: true }),
    callout(P1),
  ]);
  return page;
}

describe.skipIf(chromiumMissing !== undefined)(suiteName('hostile data in every component'), () => {
  afterAll(closeChromium);

  it('shows every payload as text, makes no element of it, and opens no dialog', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-hostile-'));
    const written = await hostilePage().write({ reportsDir: dir, name: 'hostile' });
    const opened = await openInChromium(written.file);
    expect(opened.dialogs).toEqual([]);
    expect(opened.pageErrors).toEqual([]);
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.externalRequests).toEqual([]);
    expect(opened.plotState).toBe('ready');
    expect(opened.plots.map((p) => p.points)).toEqual([3, 3, 3, 6]) // histogram: Sturges gives 3 bins for 4 values;

    expect(await opened.page.title()).toBe(`Title ${ALL}`);
    await opened.page.click('details.run-card summary'); // the run card is collapsed at the end of the page
    for (const selector of ['h1', '.manifest', `section:nth-of-type(2)`, '.subtitle', 'table caption', 'details summary']) {
      expect(await opened.text(selector), selector).not.toBe('');
    }
    expect(await opened.text('h1')).toBe(`Title ${ALL}`);
    const body = await opened.text('body');
    for (const payload of PAYLOADS) expect(body).toContain(payload);
    expect(await opened.text('.manifest')).toContain(`interp capture --prompt '${ALL}'`);
    expect(await opened.text('.token-block .tokens')).toContain(`${P1} ${P2}${P3}&amp;`);
    expect(await opened.page.locator('.tok').first().getAttribute('title')).toContain(`${JSON.stringify(P1)} · position 0\n${P1}: 0.1\n${P2}`);

    // Nothing from the data became markup: no injected elements or handlers, and only the
    // page's own scripts (plotly, boot, one JSON block per figure).
    const injected = (await opened.page.evaluate(`({
      svgOnload: document.querySelectorAll('svg[onload]').length,
      imgX: document.querySelectorAll('img').length,
      handlers: document.querySelectorAll('[onerror], [onload]').length,
      scripts: document.querySelectorAll('script').length,
    })`)) as Record<string, number>;
    expect(injected).toEqual({ svgOnload: 0, imgX: 0, handlers: 0, scripts: 2 + 4 });

    // Plotly's own text (titles, axis titles, tick labels, legend) shows the payloads literally.
    const svgText = (await opened.page.evaluate(`Array.from(document.querySelectorAll('.js-plotly-plot')).map(function (el) { return el.textContent; }).join(' ')`)) as string;
    for (const expected of [`Line ${P1}`, P2, P3, `Heatmap ${P1}`, `Scatter ${P3}`]) expect(svgText).toContain(expected);
    // ... and so does hover text, which plotly renders as its HTML subset.
    await opened.page.evaluate(`Plotly.Fx.hover(document.getElementById('plot-2'), [{ curveNumber: 0, pointNumber: 0 }])`);
    const hover = (await opened.page.evaluate(`document.querySelector('#plot-2 .hoverlayer').textContent`)) as string;
    expect(hover).toContain(P1);
    expect(opened.dialogs).toEqual([]);
    await opened.close();

    // The index lists the hostile title as text too.
    const index = await openInChromium(written.indexFile);
    expect(await index.text('#reports')).toContain(`Title ${ALL}`);
    expect(index.dialogs).toEqual([]);
    await index.close();
    rmSync(dir, { recursive: true });
  });
});
