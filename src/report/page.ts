/**
 * ReportPage: builds one static HTML report and writes it under the reports directory.
 *
 *     const page = new ReportPage({ title: 'Capture gpt2', kind: 'capture' });
 *     page.section('Mean activation norm per layer', [lineFigure({ series, xLabel: 'layer' })]);
 *     page.manifestCard(manifest);   // rendered last, collapsed, whatever the call order
 *     const { file } = await page.write({ name: `capture-${run}` });
 *
 * The page inlines its stylesheet and data; the only file it loads is plotly.min.js, copied to
 * <reports>/assets/ and referenced relatively, so it opens from disk with no network. A
 * Content-Security-Policy forbids every other load and every inline script but the page's own.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderBlocks, type Block, type RenderContext } from './component.js';
import { escapeHtml, html, joinHtml, raw, type Html } from './escape.js';
import { ensurePlotlyAsset, PLOTLY_ASSET, relativeUrl, reportFile, resolveReportsDir, slugify, writeFileAtomic } from './files.js';
import { manifestCard, type ManifestCardOptions } from './manifest.js';
import { displayDate, ENTRY_META, updateIndex, type ReportEntry } from './registry.js';
import { STYLESHEET } from './style.js';

/** Report kinds in use; any other string is accepted too. */
export type ReportKind = 'capture' | 'probe' | 'probe-sweep' | 'sae' | 'steering' | 'demo' | (string & {});

export interface ReportPageOptions {
  readonly title: string;
  readonly kind: ReportKind;
  /** One line under the title. */
  readonly subtitle?: string;
  /** When the report was made; default now. */
  readonly createdAt?: Date;
}

export interface WriteOptions {
  /** File name without .html, subfolders allowed ("capture-run1", "probes/sweep-3"). */
  readonly name: string;
  /** Default: $INTERP_REPORTS_DIR, else reports/ in the working directory. */
  readonly reportsDir?: string;
}

export interface WrittenReport {
  /** Absolute path of the page. */
  readonly file: string;
  /** file:// URL of the page, to print or open. */
  readonly url: string;
  readonly reportsDir: string;
  /** Absolute path of index.html. */
  readonly indexFile: string;
  readonly entry: ReportEntry;
}

interface Section {
  readonly heading: string | undefined;
  readonly id: string | undefined;
  readonly body: readonly Block[];
}

/**
 * Renders every figure on the page from its JSON block. Kept as a fixed string so the page's
 * Content-Security-Policy can allow exactly this inline script by its hash.
 */
const BOOT_SCRIPT = `(function () {
  var root = document.documentElement;
  var blocks = document.querySelectorAll('script[type="application/json"][data-plot]');
  function fail(message) {
    for (var i = 0; i < blocks.length; i++) {
      var el = document.getElementById(blocks[i].getAttribute('data-plot'));
      el.className += ' plot-error';
      el.textContent = message;
    }
    console.error(message);
    root.setAttribute('data-plots', 'error');
  }
  if (typeof Plotly === 'undefined') {
    var src = document.querySelector('script[data-plotly]').getAttribute('src');
    fail('The plotting library did not load: ' + src + ' is missing beside this report. Writing any report again restores it.');
    return;
  }
  var jobs = [];
  for (var i = 0; i < blocks.length; i++) {
    var spec = JSON.parse(blocks[i].textContent);
    jobs.push(Plotly.newPlot(document.getElementById(blocks[i].getAttribute('data-plot')), spec.data, spec.layout, spec.config));
  }
  Promise.all(jobs).then(function () { root.setAttribute('data-plots', 'ready'); }, function (e) { fail('A plot failed to render: ' + e); });
})();`;

const BOOT_HASH = createHash('sha256').update(BOOT_SCRIPT).digest('base64');

/**
 * No network and no injected code: scripts only from files (plotly) and the boot script by
 * hash; images only data:/blob: (plotly draws heatmaps as data: images); inline styles allowed
 * (plotly sets them, token colours use them).
 */
const CSP = `default-src 'none'; script-src 'self' file: 'sha256-${BOOT_HASH}'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:`;

export class ReportPage {
  readonly title: string;
  readonly kind: ReportKind;
  readonly subtitle: string | undefined;
  readonly createdAt: Date;
  private readonly sections: Section[] = [];
  private readonly runCards: Block[] = [];
  private readonly usedIds = new Set<string>();

  constructor(options: ReportPageOptions) {
    this.title = options.title;
    this.kind = options.kind;
    this.subtitle = options.subtitle;
    this.createdAt = options.createdAt ?? new Date();
  }

  /** Adds blocks at the top level, outside any section. */
  add(...blocks: Block[]): this {
    this.sections.push({ heading: undefined, id: undefined, body: blocks });
    return this;
  }

  /**
   * Adds the run's manifest (model, hooks, dataset, seed, versions, command) as the run card,
   * which the page renders after every result, collapsed: reports lead with their answer.
   */
  manifestCard(manifest: object, options?: ManifestCardOptions): this {
    this.runCards.push(manifestCard(manifest, options));
    return this;
  }

  /** Adds a section: a heading (linked from the contents list) and its blocks; strings become paragraphs. */
  section(heading: string, body: Block | readonly Block[]): this {
    let id = `s-${slugify(heading)}`;
    for (let n = 2; this.usedIds.has(id); n++) id = `s-${slugify(heading)}-${n}`;
    this.usedIds.add(id);
    this.sections.push({ heading, id, body: Array.isArray(body) ? body : [body as Block] });
    return this;
  }

  /** The registry entry this page carries. */
  entry(name: string): ReportEntry {
    return { name, title: this.title, kind: this.kind, path: reportFile(name), createdAt: this.createdAt.toISOString() };
  }

  /**
   * The page as HTML. `assetsUrl` is the relative URL of the reports folder's assets/ folder and
   * `indexUrl` that of index.html; `write` computes both from the page's place.
   */
  render(options: { readonly assetsUrl?: string; readonly indexUrl?: string; readonly name?: string } = {}): { readonly html: string; readonly usesPlotly: boolean } {
    let plotly = false;
    let counter = 0;
    const ctx: RenderContext = { nextId: (prefix) => `${prefix}-${++counter}`, usePlotly: () => void (plotly = true) };
    const body = joinHtml(
      [
        ...this.sections.map((s) =>
          s.heading === undefined ? renderBlocks(s.body, ctx) : html`<section id="${s.id}"><h2>${s.heading}</h2>${renderBlocks(s.body, ctx)}</section>`,
        ),
        ...(this.runCards.length ? [renderBlocks(this.runCards, ctx)] : []),
      ],
      '\n',
    );
    const headed = this.sections.filter((s) => s.heading !== undefined);
    const contents = headed.length >= 3 ? html`<nav class="meta">Contents: ${joinHtml(headed.map((s) => html`<a href="#${s.id}">${s.heading}</a>`), ' · ')}</nav>` : '';
    const indexLink = options.indexUrl !== undefined ? html` · <a href="${options.indexUrl}">all reports</a>` : '';
    const meta = escapeHtml(JSON.stringify(this.entry(options.name ?? 'page')));
    const scripts: Html = plotly
      ? html`<script src="${options.assetsUrl ?? 'assets/'}plotly.min.js" data-plotly></script>\n<script>${raw(BOOT_SCRIPT)}</script>`
      : html``;
    const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="${ENTRY_META}" content="${raw(meta)}">
<title>${this.title}</title>
<style>${raw(STYLESHEET)}</style></head>
<body><main>
<header class="page"><h1>${this.title}</h1>${this.subtitle !== undefined ? html`<div class="subtitle">${this.subtitle}</div>` : ''}<div class="meta">${this.kind} · ${displayDate(this.createdAt.toISOString())}${indexLink}</div>${contents}</header>
${body}
<footer class="page">Written by interp.</footer>
</main>
${scripts}
</body></html>
`;
    return { html: page.value, usesPlotly: plotly };
  }

  /** Writes the page atomically, copies plotly if needed, and updates index.json and index.html. */
  async write(options: WriteOptions): Promise<WrittenReport> {
    const reportsDir = resolveReportsDir(options.reportsDir);
    const entry = this.entry(options.name);
    const file = path.join(reportsDir, ...entry.path.split('/'));
    const indexFile = path.join(reportsDir, 'index.html');
    const assetsDir = path.join(reportsDir, path.dirname(PLOTLY_ASSET));
    const rendered = this.render({ assetsUrl: `${relativeUrl(file, assetsDir)}/`, indexUrl: relativeUrl(file, indexFile), name: options.name });
    if (rendered.usesPlotly) await ensurePlotlyAsset(reportsDir);
    writeFileAtomic(file, rendered.html);
    await updateIndex(reportsDir, entry);
    return { file, url: pathToFileURL(file).href, reportsDir, indexFile, entry };
  }
}
