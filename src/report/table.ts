/** Tables of data: every cell is escaped; numbers are formatted and right-aligned. */
import type { Component } from './component.js';
import { Html, html } from './escape.js';
import { formatNumber } from './format.js';

/** A cell: data (escaped; numbers formatted) or trusted `Html`; null and undefined are empty. */
export type Cell = string | number | bigint | boolean | null | undefined | Html;

export interface TableColumn {
  /** Header text. */
  readonly label: string;
  /** Alignment; numbers are right-aligned by default, everything else left. */
  readonly align?: 'left' | 'right' | 'center';
  /** Hover text on the header, e.g. how a metric is defined. */
  readonly help?: string;
}

export interface TableOptions {
  /** Header labels, or columns with alignment and help text. */
  readonly columns: readonly (string | TableColumn)[];
  /** One array of cells per row, in column order. */
  readonly rows: readonly (readonly Cell[])[];
  /** Caption shown above the table. */
  readonly caption?: string;
  /** Caps the rendered rows (the rest are summarised in a footer line); default: all rows. */
  readonly maxRows?: number;
}

function cellText(cell: Cell): Html | string {
  if (cell instanceof Html) return cell;
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') return formatNumber(cell);
  return String(cell);
}

export function table(options: TableOptions): Component {
  const columns: TableColumn[] = options.columns.map((c) => (typeof c === 'string' ? { label: c } : c));
  return {
    kind: 'table',
    render: () => {
      const shown = options.maxRows === undefined ? options.rows : options.rows.slice(0, options.maxRows);
      const hidden = options.rows.length - shown.length;
      const head = columns.map((c) => html`<th scope="col" class="${c.align ? `align-${c.align}` : ''}" title="${c.help}">${c.label}</th>`);
      const body = shown.map((row) => {
        const cells = columns.map((c, i) => {
          const cell = row[i];
          const align = c.align ?? (typeof cell === 'number' || typeof cell === 'bigint' ? 'right' : undefined);
          return html`<td class="${align ? `align-${align}` : ''}">${cellText(cell)}</td>`;
        });
        return html`<tr>${cells}</tr>`;
      });
      const footer = hidden > 0 ? html`<p class="muted">${hidden} more rows not shown.</p>` : '';
      return html`<div class="table-wrap"><table>${options.caption ? html`<caption>${options.caption}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${footer}</div>`;
    },
  };
}
