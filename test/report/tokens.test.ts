import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { colorAt, contextWindow, resolveTokenScale, textColorOn, tokenContexts, tokenText, type RenderContext } from '../../src/report/index.js';

const ctx: RenderContext = { nextId: (p) => `${p}-1`, usePlotly: () => undefined };

describe('token text', () => {
  it('renders one escaped span per token with its value on hover', () => {
    const out = tokenText({ tokens: ['<a>', ' b'], values: [0, 2], valueLabel: 'act' }).render(ctx).value;
    expect(out.match(/class="tok[ "]/g)?.length).toBe(2);
    expect(out).toContain('&lt;a&gt;');
    expect(out).toContain('title="&quot;&lt;a&gt;&quot; · position 0\nact: 0"');
    expect(out).not.toContain('<a>');
  });

  it('chooses blues from 0 for non-negative values and a symmetric diverging scale for signed ones', () => {
    expect(resolveTokenScale([[0.5, 2]])).toEqual({ scale: 'blues', range: [0, 2] });
    expect(resolveTokenScale([[-1, 3]])).toEqual({ scale: 'diverging', range: [-3, 3] });
    expect(resolveTokenScale([[0, 0]])).toEqual({ scale: 'blues', range: [0, 1] });
    expect(resolveTokenScale([[1, 2]], 'viridis', [0, 10])).toEqual({ scale: 'viridis', range: [0, 10] });
  });

  it('picks a readable text colour on each background', () => {
    expect(textColorOn(colorAt('blues', 0))).toBe('#000');
    expect(textColorOn(colorAt('blues', 1))).toBe('#fff');
    expect(colorAt('viridis', 0)).toBe('#440154');
    expect(colorAt('viridis', 2)).toBe('#fde725');
    expect(colorAt('diverging', 0.5)).toBe('#f7f7f7');
  });

  it('refuses a value count that differs from the token count', () => {
    expect(() => tokenText({ tokens: ['a', 'b'], values: [1] }).render(ctx)).toThrow(UsageError);
  });
});

describe('token contexts', () => {
  it('cuts ±radius windows, clipped at the ends', () => {
    expect(contextWindow(20, 10, 5)).toEqual({ start: 5, end: 16 });
    expect(contextWindow(20, 2, 5)).toEqual({ start: 0, end: 8 });
    expect(contextWindow(20, 18, 5)).toEqual({ start: 13, end: 20 });
  });

  it('shows 11 tokens around the centre with ellipses and the centre outlined', () => {
    const tokens = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const values = tokens.map((_, i) => (i === 15 ? 5 : 0));
    const out = tokenContexts({ contexts: [{ tokens, values, center: 15 }] }).render(ctx).value;
    expect(out.match(/class="tok[ "]/g)?.length).toBe(11);
    expect(out).toContain('t10');
    expect(out).not.toContain('>t9<');
    expect(out).toMatch(/tok-highlight[^>]*>t15</);
    expect(out.match(/…/g)?.length).toBe(2);
  });

  it('refuses a centre outside the sequence', () => {
    expect(() => tokenContexts({ contexts: [{ tokens: ['a'], values: [1], center: 3 }] }).render(ctx)).toThrow(/center 3 is outside its 1 tokens/);
  });
});
