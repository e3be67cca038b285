/**
 * The run card: a run's metadata (model, hooks, dataset, seed, versions, command line) as a
 * key/value table, collapsed in a <details> at the end of a report (results come first, as on
 * SAEDashboard and Neuronpedia pages), so a page says how it was made without pushing its answer
 * below the fold. It takes any
 * manifest object as it is stored in a run directory's manifest.json; nested objects become
 * nested tables, arrays comma-separated lists, long strings wrap.
 */
import type { Component } from './component.js';
import { Html, html, joinHtml } from './escape.js';
import { formatNumber } from './format.js';

export interface ManifestCardOptions {
  /** Card heading; default "Run configuration". */
  readonly title?: string;
  /** Keys to leave out (e.g. bulky statistics); matched at the top level only. */
  readonly omit?: readonly string[];
}

/** Keys whose values read better as code (command lines, paths, hashes). */
const CODE_KEYS = /^(command|commandLine|argv|cmd|path|dir|file|hash|sha256|revision|.*Hash|.*Path)$/i;

function renderValue(key: string, value: unknown, depth: number): Html {
  if (value === null || value === undefined) return html`<span class="muted">—</span>`;
  if (typeof value === 'number') return html`${formatNumber(value)}`;
  if (typeof value === 'bigint' || typeof value === 'boolean') return html`${String(value)}`;
  if (typeof value === 'string') return CODE_KEYS.test(key) ? html`<code>${value}</code>` : html`${value}`;
  if (value instanceof Date) return html`${value.toISOString()}`;
  if (ArrayBuffer.isView(value)) return html`<span class="muted">${value.constructor.name} (${value.byteLength} bytes)</span>`;
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return joinHtml(value.map((v) => renderValue(key, v, depth)), ', ');
    }
    return joinHtml(value.map((v) => html`<div>${renderValue(key, v, depth + 1)}</div>`));
  }
  if (typeof value === 'object' && depth < 4) return keyValueTable(value, depth + 1, []);
  return html`<code>${JSON.stringify(value)}</code>`;
}

function keyValueTable(record: object, depth: number, omit: readonly string[]): Html {
  const rows = Object.entries(record)
    .filter(([k]) => !omit.includes(k))
    .map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${renderValue(k, v, depth)}</td></tr>`);
  return html`<table class="kv${depth > 0 ? ' nested' : ''}"><tbody>${rows}</tbody></table>`;
}

export function manifestCard(manifest: object, options: ManifestCardOptions = {}): Component {
  return {
    kind: 'manifest',
    render: () =>
      html`<details class="card run-card"><summary>${options.title ?? 'Run configuration'}</summary><div class="manifest">${keyValueTable(manifest, 0, options.omit ?? [])}</div></details>`,
  };
}
