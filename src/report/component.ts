/**
 * What a page is made of. A component renders itself to `Html` given a `RenderContext`, which
 * hands out page-unique element ids and records whether the page needs plotly. Sections and
 * layouts accept `Block`s: a component, a plain string (rendered as escaped paragraphs, split
 * at blank lines) or `Html` (trusted markup).
 */
import { Html, html, joinHtml } from './escape.js';

export interface RenderContext {
  /** A page-unique id for an element, `${prefix}-${n}`. */
  nextId(prefix: string): string;
  /** Called by figures: the page then loads plotly.min.js and runs the plot boot script. */
  usePlotly(): void;
}

export interface Component {
  /** Short name of the component type, for debugging and tests ("table", "figure", ...). */
  readonly kind: string;
  render(ctx: RenderContext): Html;
}

export type Block = Component | Html | string;

/** Plain text as paragraphs: blank lines separate paragraphs, single newlines stay as breaks. */
export function prose(text: string): Html {
  const paragraphs = text.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 0);
  return joinHtml(paragraphs.map((p) => html`<p>${joinHtml(p.split('\n').map((line) => html`${line}`), '<br>')}</p>`));
}

export function renderBlock(block: Block, ctx: RenderContext): Html {
  if (typeof block === 'string') return prose(block);
  if (block instanceof Html) return block;
  return block.render(ctx);
}

export function renderBlocks(blocks: Block | readonly Block[], ctx: RenderContext): Html {
  const list: readonly Block[] = Array.isArray(blocks) ? blocks : [blocks as Block];
  return joinHtml(list.map((b) => renderBlock(b, ctx)), '\n');
}
