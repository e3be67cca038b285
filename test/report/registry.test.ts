import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { INDEX_FORMAT, ReportPage, listReports, reportFile, slugify, updateIndex } from '../../src/report/index.js';
import { chromiumMissing, closeChromium, openInChromium, suiteName } from '../helpers/browser.js';

const tempReports = (): string => mkdtempSync(path.join(tmpdir(), 'interp-index-'));

function page(title: string, kind: string, minute: number): ReportPage {
  return new ReportPage({ title, kind, createdAt: new Date(Date.UTC(2025, 0, 1, 12, minute)) }).section('Body', `About ${title}.`);
}

const readIndex = (dir: string): { format: string; version: number; reports: { name: string; path: string }[] } => JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));

describe('report index', () => {
  it('registers each report, newest first, replacing a report written again under its name', async () => {
    const dir = tempReports();
    await page('First', 'capture', 1).write({ reportsDir: dir, name: 'capture-a' });
    await page('Second', 'probe-sweep', 2).write({ reportsDir: dir, name: 'probes/sweep' });
    await page('First again', 'capture', 3).write({ reportsDir: dir, name: 'capture-a' });
    const index = readIndex(dir);
    expect(index.format).toBe(INDEX_FORMAT);
    expect(index.version).toBe(1);
    expect(index.reports.map((r) => [r.name, r.path])).toEqual([['capture-a', 'capture-a.html'], ['probes/sweep', 'probes/sweep.html']]);
    expect(readFileSync(path.join(dir, 'index.html'), 'utf8')).toContain('First again');
    rmSync(dir, { recursive: true });
  });

  it('drops entries whose page is gone', async () => {
    const dir = tempReports();
    await page('Kept', 'sae', 1).write({ reportsDir: dir, name: 'kept' });
    await page('Removed', 'sae', 2).write({ reportsDir: dir, name: 'removed' });
    rmSync(path.join(dir, 'removed.html'));
    await page('New', 'sae', 3).write({ reportsDir: dir, name: 'new' });
    expect(readIndex(dir).reports.map((r) => r.name)).toEqual(['new', 'kept']);
    expect(readFileSync(path.join(dir, 'index.html'), 'utf8')).not.toContain('Removed');
    rmSync(dir, { recursive: true });
  });

  it('rebuilds a corrupt or foreign-version registry from the pages themselves', async () => {
    const dir = tempReports();
    await page('One', 'steering', 1).write({ reportsDir: dir, name: 'one' });
    await page('Two', 'steering', 2).write({ reportsDir: dir, name: 'sub/two' });
    for (const broken of ['{"format": "interp-report-index", "ver', JSON.stringify({ format: INDEX_FORMAT, version: 99, reports: [] })]) {
      writeFileSync(path.join(dir, 'index.json'), broken);
      expect((await updateIndex(dir)).map((r) => r.name).sort()).toEqual(['one', 'sub/two']);
      expect(readIndex(dir).reports.map((r) => r.path).sort()).toEqual(['one.html', 'sub/two.html']);
    }
    rmSync(dir, { recursive: true });
  });

  it('keeps every entry when reports are written concurrently, and leaves no temporary files', async () => {
    const dir = tempReports();
    await Promise.all(Array.from({ length: 12 }, (_, i) => page(`R${i}`, 'demo', i).write({ reportsDir: dir, name: `r${i}` })));
    expect((await listReports(dir)).length).toBe(12);
    expect(readIndex(dir).reports.length).toBe(12);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.includes('lock'))).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it('accepts report names with subfolders and refuses unsafe ones with a fix', () => {
    expect(reportFile('capture-run1')).toBe('capture-run1.html');
    expect(reportFile('probes/sweep.v2')).toBe('probes/sweep.v2.html');
    for (const bad of ['../x', '/abs', 'a/../b', '.hidden', 'index', 'assets/plotly', 'a b', '', 'a//b']) {
      expect(() => reportFile(bad), bad).toThrow(UsageError);
    }
    expect(slugify('Steering: "cheese" @ layer 6!')).toBe('steering-cheese-layer-6');
    expect(reportFile(slugify('../../etc'))).toBe('etc.html');
  });
});

describe.skipIf(chromiumMissing !== undefined)(suiteName('index.html in Chromium'), () => {
  afterAll(closeChromium);

  it('lists every report and each link opens its page', async () => {
    const dir = tempReports();
    const names = ['capture-gpt2', 'probes/cheese/sweep', 'sae/latents'];
    for (const [i, name] of names.entries()) await page(`Report ${name}`, 'demo', i).write({ reportsDir: dir, name });
    const index = await openInChromium(path.join(dir, 'index.html'));
    expect(index.consoleErrors).toEqual([]);
    expect(index.externalRequests).toEqual([]);
    const links = (await index.page.evaluate(`Array.from(document.querySelectorAll('#reports a')).map(function (a) { return { text: a.textContent, href: a.href }; })`)) as { text: string; href: string }[];
    expect(links.map((l) => l.text)).toEqual(names.map((n) => `Report ${n}`).reverse());
    for (const link of links) {
      expect(link.href.startsWith(pathToFileURL(dir).href)).toBe(true);
      expect(existsSync(new URL(link.href))).toBe(true);
    }
    // Follow one link by clicking, then the page's own link back to the index.
    await index.page.click('text=Report probes/cheese/sweep');
    await index.page.waitForURL(/sweep\.html$/);
    expect(await index.page.title()).toBe('Report probes/cheese/sweep');
    await index.page.click('text=all reports');
    await index.page.waitForURL(/index\.html$/);
    expect(await index.page.title()).toBe('interp reports');
    await index.close();
    rmSync(dir, { recursive: true });
  });
});
