/**
 * Opens report pages in headless Chromium (Debian's /usr/bin/chromium through playwright-core)
 * and reports what a reader would hit: console errors, page errors, dialogs (alert, confirm,
 * prompt — which escaped data must never open), network requests other than file:// (reports
 * must make none; they are also blocked), and the plotly graphs with their trace and point
 * counts. The browser is launched once per test file on first use; call closeChromium() in
 * afterAll. Without Chromium, tests skip with the install command (see suiteName).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.INTERP_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export const chromiumMissing: string | undefined = existsSync(CHROMIUM_PATH)
  ? undefined
  : `chromium not found at ${CHROMIUM_PATH}: apt-get install chromium`;

/**
 * A suite name that carries the skip reason, for `describe.skipIf(chromiumMissing !== undefined)(
 * suiteName('...'), ...)`; warns once on stderr so the skip is seen. (This file does not import
 * vitest, so scripts can use it too.)
 */
export function suiteName(name: string): string {
  if (chromiumMissing === undefined) return name;
  console.warn(`skipping "${name}": ${chromiumMissing}`);
  return `${name} (skipped: ${chromiumMissing})`;
}

export interface PlotSummary {
  /** The graph element's id. */
  readonly id: string;
  readonly traces: number;
  /** Points over all traces: heatmap cells, else the longest of x and y per trace. */
  readonly points: number;
}

export interface OpenedPage {
  readonly consoleErrors: readonly string[];
  readonly pageErrors: readonly string[];
  /** "type: message" of each dialog opened (each is dismissed). */
  readonly dialogs: readonly string[];
  /** URLs of attempted requests that were not file:, data:, blob: or about: (all are aborted). */
  readonly externalRequests: readonly string[];
  readonly plots: readonly PlotSummary[];
  /** The value of <html data-plots>: "ready", "error", or null when the page has no plots. */
  readonly plotState: string | null;
  /** Visible text (innerText) of the first element matching a CSS selector. */
  text(selector: string): Promise<string>;
  /** The page itself, for anything else; closed by close(). */
  readonly page: Page;
  close(): Promise<void>;
}

let browser: Browser | undefined;
let context: BrowserContext | undefined;

const LOCAL = /^(file|data|blob|about):/;

/** Runs in the page: each plotly graph (.js-plotly-plot, whose .data holds the traces) summarised. */
const PLOT_SUMMARY = `Array.from(document.querySelectorAll('.js-plotly-plot')).map(function (el) {
  var data = el.data || [];
  var points = data.reduce(function (sum, t) {
    if (t.z) return sum + Array.from(t.z).reduce(function (s, row) { return s + row.length; }, 0);
    return sum + Math.max(t.x ? t.x.length : 0, t.y ? t.y.length : 0);
  }, 0);
  return { id: el.id, traces: data.length, points: points };
})`;

async function sharedContext(): Promise<BrowserContext> {
  if (chromiumMissing) throw new Error(chromiumMissing);
  if (!context) {
    // chromium.launch gives each launch a fresh temporary profile, removed on close, so no
    // state or cache leaks between test files.
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext();
    await context.route((url) => !LOCAL.test(url.href), (route) => route.abort('blockedbyclient'));
  }
  return context;
}

/** Opens a file (path or file:// URL) and waits for its plots to render (or fail). */
export async function openInChromium(file: string, options: { readonly timeoutMs?: number } = {}): Promise<OpenedPage> {
  const page = await (await sharedContext()).newPage();
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  const externalRequests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => undefined);
  });
  page.on('request', (r) => {
    if (!LOCAL.test(r.url())) externalRequests.push(r.url());
  });
  const url = file.startsWith('file:') ? file : pathToFileURL(path.resolve(file)).href;
  const timeout = options.timeoutMs ?? 30_000;
  await page.goto(url, { waitUntil: 'load', timeout });
  // Pages with plots set <html data-plots> when every Plotly.newPlot has settled. The page-side
  // code is passed as strings: this project compiles without the DOM library.
  await page.waitForFunction(`document.querySelector('script[data-plot]') === null || document.documentElement.hasAttribute('data-plots')`, undefined, { timeout });
  const plotState = (await page.evaluate(`document.documentElement.getAttribute('data-plots')`)) as string | null;
  const plots = (await page.evaluate(PLOT_SUMMARY)) as PlotSummary[];
  return {
    consoleErrors,
    pageErrors,
    dialogs,
    externalRequests,
    plots,
    plotState,
    text: (selector) => page.locator(selector).first().innerText(),
    page,
    close: () => page.close(),
  };
}

/** Closes the browser this test file launched. */
export async function closeChromium(): Promise<void> {
  await browser?.close();
  browser = undefined;
  context = undefined;
}

/** Where a report's answer sits: the top of its first result (plot or table outside the run card) and its run card. */
export interface FirstScreen {
  /** Top of the first plot or results table, in CSS pixels from the top of the page; null when there is none. */
  readonly firstResultTop: number | null;
  /** What that first result is, for messages. */
  readonly firstResult: string | null;
  /** Run cards on the page, and how many of them are open. */
  readonly runCards: number;
  readonly openRunCards: number;
  /** Manifest tables that are not inside a run card. */
  readonly strayManifests: number;
}

/** Measures the first screen of a report at 1280×800 (issue 14: a result above the fold, the run card collapsed). */
export async function firstScreen(opened: OpenedPage): Promise<FirstScreen> {
  await opened.page.setViewportSize({ width: 1280, height: 800 });
  return (await opened.page.evaluate(`(function () {
    window.scrollTo(0, 0);
    var results = Array.from(document.querySelectorAll('.js-plotly-plot, table')).filter(function (el) {
      return !el.closest('.run-card') && !el.closest('details:not([open])');
    });
    var first = results[0] || null;
    var cards = Array.from(document.querySelectorAll('details.run-card'));
    return {
      firstResultTop: first ? first.getBoundingClientRect().top + window.scrollY : null,
      firstResult: first ? (first.id || first.tagName.toLowerCase()) + ' in ' + ((first.closest('section') || {}).id || 'the page') : null,
      runCards: cards.length,
      openRunCards: cards.filter(function (c) { return c.open; }).length,
      strayManifests: Array.from(document.querySelectorAll('.manifest')).filter(function (m) { return !m.closest('details.run-card'); }).length,
    };
  })()`)) as FirstScreen;
}

/** Asserts the first screen of a report leads with a result and keeps its run card closed at the end. */
export async function expectAnswerFirst(opened: OpenedPage, expect: (v: unknown, message?: string) => { toBe(v: unknown): void; toBeLessThan(n: number): void; toBeGreaterThan(n: number): void }): Promise<void> {
  const s = await firstScreen(opened);
  expect(s.firstResultTop === null, 'the report has a plot or results table').toBe(false);
  expect(s.firstResultTop as number, `first result (${s.firstResult}) within the first 1280×800 screen`).toBeLessThan(800);
  expect(s.runCards, 'one run card').toBeGreaterThan(0);
  expect(s.openRunCards, 'run cards closed').toBe(0);
  expect(s.strayManifests, 'no manifest outside the run card').toBe(0);
}
