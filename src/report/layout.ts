/** Layout components: side-by-side columns, collapsible details, callouts. */
import { renderBlocks, type Block, type Component } from './component.js';
import { html } from './escape.js';

/** Blocks side by side (e.g. baseline and steered generations); they stack on narrow screens. */
export function columns(items: readonly (Block | readonly Block[])[], options: { readonly titles?: readonly string[] } = {}): Component {
  return {
    kind: 'columns',
    render: (ctx) =>
      html`<div class="columns">${items.map((item, i) => html`<div class="column">${options.titles?.[i] !== undefined ? html`<h3>${options.titles[i]}</h3>` : ''}${renderBlocks(item, ctx)}</div>`)}</div>`,
  };
}

/** A collapsible block, closed unless `open` (for long lists such as all top contexts). */
export function details(summary: string, body: Block | readonly Block[], options: { readonly open?: boolean } = {}): Component {
  return {
    kind: 'details',
    render: (ctx) => html`<details${options.open ? html` open` : ''}><summary>${summary}</summary>${renderBlocks(body, ctx)}</details>`,
  };
}

/** A highlighted note; `warning` for results the reader should distrust (e.g. a failed check). */
export function callout(body: Block | readonly Block[], options: { readonly tone?: 'info' | 'warning' } = {}): Component {
  return {
    kind: 'callout',
    render: (ctx) => html`<div class="callout ${options.tone ?? 'info'}">${renderBlocks(body, ctx)}</div>`,
  };
}
