/** `interp report`: lists pages, prunes deleted ones, and rebuilds a lost registry from the pages. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReportPage } from '../../src/report/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'interp-report-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Listing { reports: { name: string; file: string }[]; index: string }
const list = async (...extra: string[]): Promise<Listing> => {
  const r = await runCli(['report', '--reports', dir, '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listing;
};

describe('interp report', () => {
  it('lists, prunes and rescans', async () => {
    await new ReportPage({ title: 'first', kind: 'capture' }).write({ name: 'first', reportsDir: dir });
    await new ReportPage({ title: 'second', kind: 'sae' }).write({ name: 'runs/second', reportsDir: dir });
    expect((await list()).reports.map((r) => r.name).sort()).toEqual(['first', 'runs/second']);

    rmSync(path.join(dir, 'first.html'));
    expect((await list()).reports.map((r) => r.name)).toEqual(['runs/second']);
    expect(readFileSync(path.join(dir, 'index.html'), 'utf8')).not.toContain('first.html');

    // A lost registry is rebuilt from the pages' own meta tags.
    rmSync(path.join(dir, 'index.json'));
    await new ReportPage({ title: 'third', kind: 'probe' }).write({ name: 'third', reportsDir: dir });
    const rescanned = await list('--rescan');
    expect(rescanned.reports.map((r) => r.name).sort()).toEqual(['runs/second', 'third']);
    for (const r of rescanned.reports) expect(existsSync(r.file)).toBe(true);
  });

  it('names the folder when there is none', async () => {
    const r = await runCli(['report', '--reports', path.join(dir, 'nope')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${path.join(dir, 'nope')}: no reports folder there`);
  });
});
