/**
 * The per-latent parts of an SAE dashboard: a feature card per latent (density, activation
 * histogram, top-activating contexts, contexts sampled from activation quantiles, top ± logit
 * effects) and an index of every latent.
 *
 * The index is searchable without script: the report's Content-Security-Policy admits only the
 * page's own plot boot script (by hash), so filtering is done in CSS — radio buttons and `:has()`
 * select dead / rare / common / dense latents or those with a card — with
 * id-range links above one scrolling table; the browser's find (Ctrl+F "#123") finds a latent
 * by id. Every token and label is escaped by the report framework.
 */
import { callout, columns, details, histogramFigure, html, joinHtml, raw, renderBlocks, table, tokenContexts } from '../src/report/index.js';
import type { Block, Component, Histogram, Html, TokenContext } from '../src/report/index.js';
import type { AttributeMatch } from './attributes.js';
import type { LatentExample, LatentScan } from './dashboard-scan.js';
import type { LogitEffect } from './dashboard-logits.js';

/** Top contexts shown before the rest are folded away. */
const SHOWN_TOP = 8;
/** Activation quantile buckets, and contexts drawn from each. */
const QUANTILES = 4;
const PER_QUANTILE = 3;
/** Latents per jump link of the index. */
const INDEX_GROUP = 256;

/** Density classes of the index filter: thresholds on the fraction of tokens a latent fires on. */
export type DensityClass = 'dead' | 'rare' | 'common' | 'dense';

export function densityClass(density: number): DensityClass {
  if (density === 0) return 'dead';
  if (density < 1e-4) return 'rare';
  if (density > 0.1) return 'dense';
  return 'common';
}

/** Styles of the dashboard's own elements (inline styles are allowed by the page's CSP). */
export function dashboardStyle(): Html {
  return raw(`<style>
.latent-card { margin: 18px 0; }
.latent-card h3 { margin-top: 12px; }
.latent-card .stats { color: var(--muted); font-size: 0.9rem; }
.latent-index .filters { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0; font-size: 0.92rem; }
.latent-index .ranges a { margin-right: 8px; }
.latent-index .index-scroll { max-height: 520px; overflow-y: auto; }
.latent-index table { width: 100%; }
.latent-index th, .latent-index td:not(:last-child) { white-space: nowrap; overflow-wrap: normal; }
.latent-card .tok { margin-right: 0.2em; }
.latent-index:has(#lf-card:checked) tr.lrow:not(.k-card),
.latent-index:has(#lf-dead:checked) tr.lrow:not(.k-dead),
.latent-index:has(#lf-rare:checked) tr.lrow:not(.k-rare),
.latent-index:has(#lf-common:checked) tr.lrow:not(.k-common),
.latent-index:has(#lf-dense:checked) tr.lrow:not(.k-dense) { display: none; }
</style>`);
}

/** One latent's histogram as the report's Histogram, trailing empty bins dropped. */
function latentHistogram(scan: LatentScan, l: number): Histogram {
  const B = scan.histBins;
  const counts = scan.histCounts.subarray(l * B, (l + 1) * B);
  let last = B;
  while (last > 1 && counts[last - 1] === 0) last--;
  const width = scan.histTop[l] / B;
  const edges = Float64Array.from({ length: last + 1 }, (_, b) => b * width);
  const total = counts.subarray(0, last).reduce((a, c) => a + c, 0);
  return { edges, counts: Float64Array.from(counts.subarray(0, last)), underflow: 0, overflow: 0, nonFinite: 0, total };
}

function context(e: LatentExample, label?: string): TokenContext {
  return { tokens: [...e.tokens], values: e.values, center: e.center, label: label ?? formatValue(e.value) };
}

function formatValue(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

/** Contexts drawn evenly from each quantile bucket of a latent's sampled activations (ascending). */
function quantileContexts(samples: readonly LatentExample[]): { readonly heading: string; readonly contexts: TokenContext[] }[] {
  const out: { heading: string; contexts: TokenContext[] }[] = [];
  for (let q = QUANTILES - 1; q >= 0; q--) {
    const lo = Math.floor((q * samples.length) / QUANTILES);
    const hi = Math.floor(((q + 1) * samples.length) / QUANTILES);
    if (hi <= lo) continue;
    const bucket = samples.slice(lo, hi);
    const picks = Array.from({ length: Math.min(PER_QUANTILE, bucket.length) }, (_, i) => bucket[Math.floor(((i + 0.5) * bucket.length) / Math.min(PER_QUANTILE, bucket.length))]);
    out.push({
      heading: `Quantile ${q + 1} of ${QUANTILES} (activations ${formatValue(bucket[0].value)}–${formatValue(bucket[bucket.length - 1].value)})`,
      contexts: picks.map((e) => context(e)),
    });
  }
  return out;
}

function logitTable(effect: LogitEffect): Component {
  const rows = effect.positive.map((p, i) => {
    const n = effect.negative[i];
    return [p.token, p.value, n?.token, n?.value];
  });
  return table({ columns: ['promoted token', { label: 'logit', align: 'right' }, 'suppressed token', { label: 'logit', align: 'right' }], rows, caption: 'Top ± logit effects (W_U · (g ⊙ W_dec))' });
}

export interface LatentCardOptions {
  readonly scan: LatentScan;
  readonly latent: number;
  readonly logits: LogitEffect | null;
  /** Attributes this latent is the best match for. */
  readonly attributes: readonly AttributeMatch[];
  /** Transcoders: the hook the latent is read from (activations, contexts) and the hook its decoder row writes to (logit effects). */
  readonly transcoder?: { readonly hook: string; readonly hookOut: string };
}

/** A feature card for one latent. */
export function latentCard(o: LatentCardOptions): Component {
  const { scan, latent: l } = o;
  return {
    kind: 'sae-latent-card',
    render: (ctx) => {
      const fires = scan.fires[l];
      const density = scan.tokens > 0 ? fires / scan.tokens : 0;
      const range: [number, number] = [0, scan.max[l] > 0 ? scan.max[l] : 1];
      const stats = `density ${density.toExponential(2)} (log10 ${density > 0 ? Math.log10(density).toFixed(2) : '−∞'}) · fires on ${fires} of ${scan.tokens} tokens · max ${formatValue(scan.max[l])} · mean when active ${fires > 0 ? formatValue(scan.sum[l] / fires) : '—'}`;
      const io = o.transcoder ? html`<div class="stats">transcoder latent: activations on ${o.transcoder.hook} · decoder row writes ${o.transcoder.hookOut}</div>` : null;
      const matched = o.attributes.length > 0 ? `Best match for ${o.attributes.map((a) => `${a.attribute} (F1 ${a.f1.toFixed(3)})`).join(', ')}.` : '';
      const top = scan.top[l];
      const topBlocks: Block[] = top.length === 0
        ? ['No activations in the scanned rows.']
        : [tokenContexts({ contexts: top.slice(0, SHOWN_TOP).map((e) => context(e)), range, scale: 'blues', valueLabel: `latent ${l}` })];
      if (top.length > SHOWN_TOP) topBlocks.push(details(`${top.length - SHOWN_TOP} more top contexts`, [tokenContexts({ contexts: top.slice(SHOWN_TOP).map((e) => context(e)), range, scale: 'blues', valueLabel: `latent ${l}` })]));
      const quantiles = quantileContexts(scan.samples[l]).map((b) => details(b.heading, [tokenContexts({ contexts: b.contexts, range, scale: 'blues', valueLabel: `latent ${l}` })]));
      const side: Block[] = o.logits ? [logitTable(o.logits)] : [`No logit effects (no model given, or the ${o.transcoder ? 'transcoder\'s output' : 'SAE'} is not on the residual stream).`];
      const hist = fires > 0
        ? histogramFigure({ series: [{ histogram: latentHistogram(scan, l) }], xLabel: 'activation', yLabel: 'tokens', logY: true, height: 240 })
        : 'Never fired.';
      const body: Block[] = [
        ...(io ? [io] : []),
        html`<div class="stats">${stats}</div>`,
        ...(matched ? [matched] : []),
        columns([[hist], side]),
        html`<h4>Top activations</h4>`,
        ...topBlocks,
        ...(quantiles.length > 0 ? [html`<h4>Samples by activation quantile</h4>`, ...quantiles] : []),
      ];
      return html`<article class="card latent-card" id="latent-${String(l)}"><h3>Latent ${String(l)}</h3>${renderBlocks(body, ctx)}</article>`;
    },
  };
}

/** Every latent by id with its density, max activation and matched attributes; links to cards. */
export function latentIndex(scan: LatentScan, carded: ReadonlySet<number>, matches: ReadonlyMap<number, readonly AttributeMatch[]>): Component {
  return {
    kind: 'sae-latent-index',
    render: () => {
      const m = scan.dSae;
      const filters = (['all', 'card', 'dead', 'rare', 'common', 'dense'] as const).map((k) =>
        html`<label><input type="radio" name="latent-filter" id="lf-${k}"${k === 'all' ? raw(' checked') : ''}> ${k === 'card' ? 'with a card' : k === 'rare' ? 'rare (< 1e-4)' : k === 'dense' ? 'dense (> 0.1)' : k}</label>`);
      const rows: Html[] = [];
      const ranges: Html[] = [];
      for (let l = 0; l < m; l++) {
        if (l % INDEX_GROUP === 0) ranges.push(html`<a href="#idx-${String(l)}">${String(l)}–${String(Math.min(m, l + INDEX_GROUP) - 1)}</a>`);
        const density = scan.tokens > 0 ? scan.fires[l] / scan.tokens : 0;
        const cls = `lrow k-${densityClass(density)}${carded.has(l) ? ' k-card' : ''}`;
        const id = carded.has(l) ? html`<a href="#latent-${String(l)}">#${String(l)}</a>` : html`#${String(l)}`;
        const attrs = (matches.get(l) ?? []).map((a) => a.attribute).join(', ');
        rows.push(html`<tr class="${cls}" id="idx-${String(l)}"><td>${id}</td><td class="align-right">${density > 0 ? density.toExponential(2) : '0'}</td><td class="align-right">${density > 0 ? Math.log10(density).toFixed(2) : '—'}</td><td class="align-right">${formatValue(scan.max[l])}</td><td>${attrs}</td></tr>`);
      }
      const head = html`<thead><tr><th>latent</th><th class="align-right">density</th><th class="align-right">log10 density</th><th class="align-right">max</th><th>best match for</th></tr></thead>`;
      return html`<div class="latent-index"><div class="filters" role="radiogroup" aria-label="Filter latents">${filters}</div><div class="ranges">Jump to ${joinHtml(ranges, ' ')}</div><div class="table-wrap index-scroll"><table>${head}<tbody>${rows}</tbody></table></div></div>`;
    },
  };
}

/** A note shown when the scan covered part of the capture or its rows carry no context. */
export function scanNotes(scan: LatentScan): Block[] {
  const notes: Block[] = [];
  if (scan.rowsRead < scan.rowsTotal) notes.push(callout([`Statistics cover ${scan.rowsRead} of ${scan.rowsTotal} capture rows (a row limit or a sequence filter, e.g. the held-out split, was set).`]));
  if (!scan.contexts) notes.push(callout(['The capture kept one position per sequence, so examples show the token alone, without context.'], { tone: 'warning' }));
  return notes;
}
