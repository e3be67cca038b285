/**
 * Escaping for the three contexts a report writes data into:
 *
 * - HTML text and quoted attribute values: `escapeHtml`, applied by default to every
 *   interpolation of the `html` tagged template. Markup passes through only when wrapped in
 *   `Html` (made by `html` itself or by `raw()` for trusted, hand-written markup), so a component
 *   author cannot forget to escape a prompt, token, label, hook name or path.
 * - JSON inside `<script type="application/json">`: `jsonForScript`, which escapes `<`, `>`, `&`
 *   and U+2028/U+2029 so that a token such as `</script>` cannot end the block.
 * - Strings plotly renders as its own HTML subset (hover text, titles, tick labels, trace names):
 *   `plotlyText`, since plotly decodes `&lt;` and friends but treats `<b>`, `<a href>` as markup.
 */

/** A string of HTML that is safe to insert as is. Build it with `html` or `raw`, never by hand. */
export class Html {
  /** @internal use `html` or `raw` */
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A value the `html` template accepts: data (escaped), Html (inserted), or lists of them. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  // The HTML parser turns a raw CR (and CR LF) into LF; a character reference keeps it.
  '\r': '&#13;',
  // HTML cannot carry U+0000 in text at all (the parser drops or replaces it): show U+FFFD.
  '\0': '\uFFFD',
};

/** Escapes a string for HTML text or a double- or single-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'\r\0]/g, (c) => HTML_ESCAPES[c]);
}

/** Marks trusted, hand-written markup as HTML. Never pass data (prompts, tokens, labels) here. */
export function raw(markup: string): Html {
  return new Html(markup);
}

function renderValue(value: HtmlValue): string {
  if (value instanceof Html) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(renderValue).join('');
  return escapeHtml(String(value));
}

/**
 * Tagged template for markup: the literal parts are trusted, every interpolation is escaped
 * unless it is already `Html`. Arrays are concatenated; null, undefined and false render nothing.
 *
 *     html`<td title="${token}">${value}</td>`
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += renderValue(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Joins fragments (each escaped unless Html) with a trusted separator. */
export function joinHtml(parts: readonly HtmlValue[], separator = ''): Html {
  return new Html(parts.map(renderValue).join(separator));
}

/**
 * JSON text safe to place inside `<script type="application/json">`. The five characters below
 * can occur in JSON output only inside strings, where the \u escapes mean the same thing, so the
 * result still parses to the same value.
 */
export function jsonForScript(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('jsonForScript: value is not representable as JSON');
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Escapes a data string for plotly's text fields (hover text, titles, tick labels, trace names),
 * which plotly parses as a subset of HTML (`<br>`, `<b>`, `<a href>`) and whose entities
 * (`&lt;`, `&amp;`, `&gt;`) it decodes, so the text shows literally.
 */
export function plotlyText(text: string): string {
  return text.replace(/[&<>]/g, (c) => HTML_ESCAPES[c]);
}
