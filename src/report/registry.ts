/**
 * The report index: <reports>/index.json (the registry) and <reports>/index.html (the page that
 * lists every report). Both are rewritten atomically each time a report is written, under a
 * lock file so two processes writing reports at once do not lose each other's entries.
 * Entries whose page is gone are dropped. The registry is derived data: if it is missing,
 * unreadable or of another format version, it is rebuilt from the pages themselves, which
 * carry their entry in a <meta name="interp-report"> tag.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { html, joinHtml } from './escape.js';
import { writeFileAtomic } from './files.js';
import { STYLESHEET } from './style.js';

export const INDEX_FORMAT = 'interp-report-index';
export const INDEX_VERSION = 1;

export interface ReportEntry {
  /** Report name, e.g. "capture-run1" or "probes/sweep-3". */
  readonly name: string;
  readonly title: string;
  /** Report kind, e.g. "capture", "probe-sweep", "sae", "steering". */
  readonly kind: string;
  /** Page path relative to the reports directory, forward slashes. */
  readonly path: string;
  /** When the report was made, ISO 8601. */
  readonly createdAt: string;
}

interface IndexFile {
  readonly format: typeof INDEX_FORMAT;
  readonly version: number;
  readonly reports: readonly ReportEntry[];
}

/** The meta tag name pages carry their entry under. */
export const ENTRY_META = 'interp-report';

/**
 * A page path inside the reports directory: relative, forward slashes, no `..`, ending in .html.
 * index.json is read back from disk, so an entry naming a path outside the directory (../x.html,
 * /etc/x.html) is dropped rather than linked from index.html.
 */
export function isPagePath(p: string): boolean {
  const segments = p.split(/[\\/]/);
  return p.endsWith('.html') && !path.isAbsolute(p) && !path.win32.isAbsolute(p) && !segments.includes('..') && !segments.includes('') && !p.includes('\0');
}

function isEntry(value: unknown): value is ReportEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['name', 'title', 'kind', 'path', 'createdAt'].every((k) => typeof v[k] === 'string') && isPagePath(v.path as string);
}

/** Reads the registry; null when it is missing, unreadable or of another format or version. */
async function readRegistry(file: string): Promise<ReportEntry[] | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return null;
  }
  const index = parsed as Partial<IndexFile>;
  if (index.format !== INDEX_FORMAT || index.version !== INDEX_VERSION || !Array.isArray(index.reports)) return null;
  return index.reports.filter(isEntry);
}

function unescapeAttribute(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };
  return text.replace(/&(#\d+|amp|lt|gt|quot);/g, (_, e: string) => (e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : named[e]));
}

/** The entry a page carries, or null for files that are not interp reports. */
async function entryOfPage(reportsDir: string, relative: string): Promise<ReportEntry | null> {
  const handle = await fs.open(path.join(reportsDir, relative), 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const match = new RegExp(`<meta name="${ENTRY_META}" content="([^"]*)">`).exec(head.subarray(0, bytesRead).toString('utf8'));
    if (!match) return null;
    const entry: unknown = JSON.parse(unescapeAttribute(match[1]));
    return isEntry(entry) ? { ...entry, path: relative } : null;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** Every report page under the reports directory, found by scanning for their meta tags. */
export async function scanReports(reportsDir: string): Promise<ReportEntry[]> {
  const entries: ReportEntry[] = [];
  const files = (await fs.readdir(reportsDir, { recursive: true }).catch(() => [] as string[])) as string[];
  for (const file of files) {
    const relative = file.split(path.sep).join('/');
    if (!relative.endsWith('.html') || relative === 'index.html' || relative.startsWith('assets/')) continue;
    const entry = await entryOfPage(reportsDir, relative);
    if (entry) entries.push(entry);
  }
  return entries;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then((s) => s.isFile(), () => false);
}

/** Runs `work` holding <reportsDir>/.index.lock; a lock older than 30 s is taken to be left by a dead process. */
async function withLock<T>(reportsDir: string, work: () => Promise<T>): Promise<T> {
  const lock = path.join(reportsDir, '.index.lock');
  await fs.mkdir(reportsDir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await (await fs.open(lock, 'wx')).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await fs.stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 30_000 || attempt > 400) await fs.rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await work();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

/** The registry's entries (rebuilt from the pages when the registry is unusable), newest first, existing files only. */
export async function listReports(reportsDir: string): Promise<ReportEntry[]> {
  const registered = (await readRegistry(path.join(reportsDir, 'index.json'))) ?? (await scanReports(reportsDir));
  const present: ReportEntry[] = [];
  for (const entry of registered) if (await exists(path.join(reportsDir, entry.path))) present.push(entry);
  return present.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.name.localeCompare(b.name));
}

/**
 * Adds or replaces `entry` (by name) in the registry, drops entries whose page is gone, and
 * rewrites index.json and index.html. With no entry it only prunes and rebuilds.
 */
export async function updateIndex(reportsDir: string, entry?: ReportEntry): Promise<ReportEntry[]> {
  return withLock(reportsDir, async () => {
    const others = (await listReports(reportsDir)).filter((e) => e.name !== entry?.name);
    const entries = entry ? [entry, ...others] : others;
    entries.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.name.localeCompare(b.name));
    const index: IndexFile = { format: INDEX_FORMAT, version: INDEX_VERSION, reports: entries };
    writeFileAtomic(path.join(reportsDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
    writeFileAtomic(path.join(reportsDir, 'index.html'), renderIndexPage(entries));
    return entries;
  });
}

/** "2025-01-02 13:45 UTC" from an ISO date. */
export function displayDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function renderIndexPage(entries: readonly ReportEntry[]): string {
  const rows = entries.map(
    (e) =>
      html`<tr><td><a href="${e.path.split('/').map(encodeURIComponent).join('/')}">${e.title}</a></td><td>${e.kind}</td><td class="align-right">${displayDate(e.createdAt)}</td><td><code>${e.path}</code></td></tr>`,
  );
  const body = entries.length
    ? html`<div class="table-wrap"><table id="reports"><thead><tr><th>Report</th><th>Kind</th><th>Date</th><th>File</th></tr></thead><tbody>${joinHtml(rows, '\n')}</tbody></table></div>`
    : html`<p class="muted">No reports yet.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>interp reports</title><style>${STYLESHEET}</style></head>
<body><main><header class="page"><h1>Reports</h1><div class="meta">${entries.length} report${entries.length === 1 ? '' : 's'}, newest first</div></header>
${body}
<footer class="page">Written by interp. Rebuilt whenever a report is written.</footer></main></body></html>
`;
}
