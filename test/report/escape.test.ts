import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Html, escapeHtml, html, joinHtml, jsonForScript, plotlyText, raw } from '../../src/report/escape.js';
import { chromiumMissing, closeChromium, openInChromium, suiteName } from '../helpers/browser.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Fragments that break naive escaping, mixed into random strings. */
const NASTY = ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>', `"'><svg onload=alert(3)>`, '</script>', '<!--', ']]>', '&amp;', '&lt;', '&#0;', '\r\n', '\r', '\u2028', '\u2029', '\0', '${x}', '`', '\\u003c'];
const nastyString = fc.array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom(...NASTY)), { maxLength: 6 }).map((parts) => parts.join(''));

/** Decodes exactly the references escapeHtml emits (a reference decoder for the unit property). */
function decodeOurEntities(text: string): string {
  const map: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#13;': '\r' };
  return text.replace(/&(amp|lt|gt|quot|#39|#13);/g, (e) => map[e]);
}

describe('escapeHtml', () => {
  it('escapes markup, quotes and carriage returns', () => {
    expect(escapeHtml(`<a href="x">'&'</a>\r`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;&#13;');
  });

  it('for any string, leaves no markup character and decodes back (NUL becomes U+FFFD)', () => {
    fc.assert(
      fc.property(nastyString, (s) => {
        const escaped = escapeHtml(s);
        expect(escaped).not.toMatch(/[<>"'\r\0]/);
        // Every & starts one of our references.
        expect(escaped.replace(/&(amp|lt|gt|quot|#39|#13);/g, '')).not.toContain('&');
        expect(decodeOurEntities(escaped)).toBe(s.replace(/\0/g, '\uFFFD'));
      }),
      { numRuns: 500 },
    );
  });
});

describe('html template', () => {
  it('escapes interpolations and keeps Html as markup', () => {
    const token = '<b>x</b>';
    expect(html`<td title="${token}">${token}${raw('<br>')}</td>`.value).toBe('<td title="&lt;b&gt;x&lt;/b&gt;">&lt;b&gt;x&lt;/b&gt;<br></td>');
  });

  it('renders arrays, numbers, and nothing for null, undefined and false', () => {
    expect(html`${['<', html`<i>`, 3]}|${null}|${undefined}|${false}|${0}`.value).toBe('&lt;<i>3||||0');
  });

  it('nested templates are not escaped twice', () => {
    const inner = html`<span>${'a&b'}</span>`;
    expect(html`<p>${inner}</p>`.value).toBe('<p><span>a&amp;b</span></p>');
    expect(inner).toBeInstanceOf(Html);
  });

  it('joinHtml escapes parts and keeps the separator as markup', () => {
    expect(joinHtml(['<x>', html`<y>`], '<br>').value).toBe('&lt;x&gt;<br><y>');
  });
});

describe('jsonForScript', () => {
  it('for any value, parses back equal and has no character that could end the script', () => {
    fc.assert(
      fc.property(fc.jsonValue(), nastyString, (value, s) => {
        const data = { value, s, list: [s, s] };
        const json = jsonForScript(data);
        expect(json).not.toMatch(/[<>&\u2028\u2029]/);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(data)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses undefined', () => {
    expect(() => jsonForScript(undefined)).toThrow(/not representable/);
  });
});

describe('plotlyText', () => {
  it('escapes the characters plotly reads as markup or entities', () => {
    expect(plotlyText('<b>a & b</b>')).toBe('&lt;b&gt;a &amp; b&lt;/b&gt;');
  });
});

describe.skipIf(chromiumMissing !== undefined)(suiteName('escaping, read back by a real HTML parser'), () => {
  afterAll(closeChromium);

  it('text, attribute and JSON contexts give back every string exactly', async () => {
    const samples = fc.sample(nastyString, { numRuns: 400, seed: 20250102 }).concat(NASTY);
    const body = samples
      .map((s, i) => html`<p id="t${i}" title="${s}">${s}</p><script type="application/json" id="j${i}">${raw(jsonForScript({ s }))}</script>`.value)
      .join('\n');
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-escape-'));
    const file = path.join(dir, 'escape.html');
    writeFileSync(file, `<!doctype html><html><head><meta charset="utf-8"><title>escape</title></head><body>${body}</body></html>`);
    const opened = await openInChromium(file);
    const back = (await opened.page.evaluate(`Array.from({ length: ${samples.length} }, function (_, i) {
      var p = document.getElementById('t' + i);
      return { text: p.textContent, title: p.getAttribute('title'), json: JSON.parse(document.getElementById('j' + i).textContent).s };
    })`)) as { text: string; title: string; json: string }[];
    const count = (await opened.page.evaluate(`document.querySelectorAll('body > *').length`)) as number;
    expect(opened.dialogs).toEqual([]);
    expect(opened.pageErrors).toEqual([]);
    // No fragment became an element of its own: exactly one <p> and one <script> per sample.
    expect(count).toBe(samples.length * 2);
    samples.forEach((s, i) => {
      const shown = s.replace(/\0/g, '\uFFFD');
      expect(back[i]).toEqual({ text: shown, title: shown, json: s });
    });
    await opened.close();
  });
});
