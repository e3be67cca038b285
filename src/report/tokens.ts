/**
 * Token text: a sequence of tokens, each shaded by a value (activation, probe score, KL) and
 * showing token, position and value on hover. Used for token heatmaps, steering diffs and SAE
 * top-activating contexts. Colours are computed here with the same scales as heatmap figures,
 * so no script runs for them; every token is escaped.
 */
import { UsageError } from '../errors.js';
import { colorAt, cssGradient, textColorOn, type ColorScaleName } from './colors.js';
import type { Component } from './component.js';
import { Html, html } from './escape.js';
import { formatNumber } from './format.js';

/** `auto`: diverging (centred on 0) when values have both signs, else blues from the minimum (0 when none is negative). */
export type TokenScale = ColorScaleName | 'auto';

export interface TokenTextOptions {
  readonly tokens: readonly string[];
  /** One value per token. */
  readonly values: ArrayLike<number>;
  readonly scale?: TokenScale;
  /** Value range mapped to the scale; default from the values (see TokenScale). Share it across rows to compare them. */
  readonly range?: readonly [number, number];
  /** What the value is, for hover text and legend; default "value". */
  readonly valueLabel?: string;
  /** Extra hover line per token (e.g. the baseline token in a steering diff). */
  readonly hover?: readonly string[];
  /** Token index to outline, e.g. the max-activating token. */
  readonly highlight?: number;
  /** Position of tokens[0] in the full sequence, for hover text; default 0. */
  readonly firstPosition?: number;
  /** Show the colour legend under the text; default true. */
  readonly legend?: boolean;
  /** Start a new line after newline tokens; default true (false in token contexts). */
  readonly breakLines?: boolean;
}

export interface ResolvedScale {
  readonly scale: ColorScaleName;
  readonly range: readonly [number, number];
}

/** The scale and range token text would use for these value arrays (pass it to several rows to share it). */
export function resolveTokenScale(values: readonly ArrayLike<number>[], scale: TokenScale = 'auto', range?: readonly [number, number]): ResolvedScale {
  let lo = Infinity;
  let hi = -Infinity;
  for (const vs of values) for (let i = 0; i < vs.length; i++) if (Number.isFinite(vs[i])) [lo, hi] = [Math.min(lo, vs[i]), Math.max(hi, vs[i])];
  if (lo > hi) [lo, hi] = [0, 1];
  const resolved: ColorScaleName = scale !== 'auto' ? scale : lo < 0 && hi > 0 ? 'diverging' : 'blues';
  if (range) return { scale: resolved, range };
  if (resolved === 'diverging') {
    const bound = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return { scale: resolved, range: [-bound, bound] };
  }
  const low = lo >= 0 ? 0 : lo;
  return { scale: resolved, range: [low, hi > low ? hi : low + 1] };
}

/**
 * How a token's text is shown: whitespace kept, line breaks and tabs made visible, empty tokens
 * marked. `breakLines` false keeps a context on one row (the ↵ still shows the newline).
 */
function tokenDisplay(token: string, breakLines: boolean): Html {
  if (token.length === 0) return html`<span class="tok-empty">∅</span>`;
  const parts = token.split('\n');
  const newline = breakLines ? html`<span class="tok-nl">↵</span><br>` : html`<span class="tok-nl">↵</span>`;
  return html`${parts.map((part, i) => html`${i > 0 ? newline : ''}${part.replace(/\t/g, '→\t')}`)}`;
}

function tokenSpan(token: string, value: number, position: number, resolved: ResolvedScale, valueLabel: string, extra: string | undefined, highlighted: boolean, breakLines: boolean): Html {
  const [lo, hi] = resolved.range;
  const background = colorAt(resolved.scale, (value - lo) / (hi - lo));
  const title = `${JSON.stringify(token)} · position ${position}\n${valueLabel}: ${formatNumber(value)}${extra !== undefined ? `\n${extra}` : ''}`;
  return html`<span class="tok${highlighted ? ' tok-highlight' : ''}" style="background:${background};color:${textColorOn(background)}" title="${title}" data-value="${String(value)}">${tokenDisplay(token, breakLines)}</span>`;
}

function legend(resolved: ResolvedScale, valueLabel: string): Html {
  return html`<div class="scale-legend"><span>${formatNumber(resolved.range[0])}</span><span class="scale-bar" style="background:${cssGradient(resolved.scale)}"></span><span>${formatNumber(resolved.range[1])}</span><span class="muted">${valueLabel}</span></div>`;
}

function checkLengths(what: string, tokens: readonly string[], values: ArrayLike<number>, hover?: readonly string[]): void {
  if (tokens.length !== values.length) {
    throw new UsageError(`${what}: ${tokens.length} tokens but ${values.length} values`, 'give exactly one value per token');
  }
  if (hover !== undefined && hover.length !== tokens.length) {
    throw new UsageError(`${what}: ${tokens.length} tokens but ${hover.length} hover strings`, 'give one hover string per token, or none');
  }
}

/** Renders the spans alone (no legend), for composing rows that share a scale. */
export function tokenSpans(options: TokenTextOptions, resolved: ResolvedScale): Html {
  checkLengths('tokenText', options.tokens, options.values, options.hover);
  const first = options.firstPosition ?? 0;
  const label = options.valueLabel ?? 'value';
  return html`${options.tokens.map((t, i) => tokenSpan(t, options.values[i], first + i, resolved, label, options.hover?.[i], options.highlight === i, options.breakLines ?? true))}`;
}

export function tokenText(options: TokenTextOptions): Component {
  return {
    kind: 'token-text',
    render: () => {
      const resolved = resolveTokenScale([options.values], options.scale, options.range);
      return html`<div class="token-block"><div class="tokens">${tokenSpans(options, resolved)}</div>${options.legend === false ? '' : legend(resolved, options.valueLabel ?? 'value')}</div>`;
    },
  };
}

// ── Contexts around a token (SAE top-activating examples) ───────────────────────────────────

export interface TokenContext {
  /** The whole sequence; the window is cut here. */
  readonly tokens: readonly string[];
  readonly values: ArrayLike<number>;
  /** Index of the token the context is about (e.g. the max activation). */
  readonly center: number;
  /** Row label, e.g. the activation or the prompt id; default the centre value. */
  readonly label?: string;
}

export interface TokenContextsOptions {
  readonly contexts: readonly TokenContext[];
  /** Tokens shown either side of the centre; default 5. */
  readonly radius?: number;
  readonly scale?: TokenScale;
  /** Shared range; default from the values inside the windows. */
  readonly range?: readonly [number, number];
  readonly valueLabel?: string;
}

/** The [start, end) token window of `radius` either side of `center`, clipped to the sequence. */
export function contextWindow(length: number, center: number, radius: number): { readonly start: number; readonly end: number } {
  return { start: Math.max(0, center - radius), end: Math.min(length, center + radius + 1) };
}

/** One row per context: the centre token outlined, ±radius tokens around it, all rows on one scale. */
export function tokenContexts(options: TokenContextsOptions): Component {
  return {
    kind: 'token-contexts',
    render: () => {
      const radius = options.radius ?? 5;
      const windows = options.contexts.map((c, i) => {
        checkLengths(`tokenContexts context ${i}`, c.tokens, c.values);
        if (!Number.isInteger(c.center) || c.center < 0 || c.center >= c.tokens.length) {
          throw new UsageError(`tokenContexts context ${i}: center ${c.center} is outside its ${c.tokens.length} tokens`, 'pass the index of a token in the sequence');
        }
        return { context: c, ...contextWindow(c.tokens.length, c.center, radius) };
      });
      const resolved = resolveTokenScale(windows.map((w) => Array.prototype.slice.call(w.context.values, w.start, w.end) as number[]), options.scale, options.range);
      const valueLabel = options.valueLabel ?? 'value';
      const rows = windows.map(({ context: c, start, end }) => {
        const spans = tokenSpans(
          { tokens: c.tokens.slice(start, end), values: Array.prototype.slice.call(c.values, start, end) as number[], highlight: c.center - start, firstPosition: start, valueLabel, breakLines: false },
          resolved,
        );
        return html`<tr><td class="align-right ctx-label">${c.label ?? formatNumber(c.values[c.center])}</td><td class="tokens">${start > 0 ? html`<span class="muted">… </span>` : ''}${spans}${end < c.tokens.length ? html`<span class="muted"> …</span>` : ''}</td></tr>`;
      });
      return html`<div class="token-block"><table class="contexts"><tbody>${rows}</tbody></table>${legend(resolved, valueLabel)}</div>`;
    },
  };
}
