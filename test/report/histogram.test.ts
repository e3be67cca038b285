import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { histogram } from '../../src/report/histogram.js';

describe('histogram', () => {
  it('matches counting each value against the edges (numpy convention: last bin closed)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -5, max: 5 })), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (values, bins) => {
        const h = histogram(values, { bins });
        expect(h.counts.length).toBe(bins);
        expect(h.edges.length).toBe(bins + 1);
        const expected = new Array<number>(bins).fill(0);
        for (const v of values) {
          let b = -1;
          for (let i = 0; i < bins; i++) if (v >= h.edges[i] && (v < h.edges[i + 1] || (i === bins - 1 && v <= h.edges[bins]))) b = i;
          expect(b).toBeGreaterThanOrEqual(0);
          expected[b]++;
        }
        expect(Array.from(h.counts)).toEqual(expected);
        expect(h.total).toBe(values.length);
      }),
      { numRuns: 1000 },
    );
  });

  it('handles subnormal and overflowing widths', () => {
    expect(Array.from(histogram([0, 5e-324], { bins: 1 }).counts)).toEqual([2]);
    expect(Array.from(histogram([0, 5e-324, 1e-323], { bins: 2 }).counts)).toEqual([1, 2]);
    const wide = histogram([-1.7e308, 0, 1.7e308], { bins: 2 });
    expect(Array.from(wide.counts)).toEqual([1, 2]);
    expect(wide.edges[1]).toBe(0);
  });

  it('puts the maximum in the last bin and the minimum in the first', () => {
    const h = histogram([0, 1, 2, 3, 4], { bins: 4 });
    expect(Array.from(h.edges)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(h.counts)).toEqual([1, 1, 1, 2]);
  });

  it('counts NaN and infinities apart and leaves them out of bins', () => {
    const h = histogram([NaN, Infinity, -Infinity, 1, 2], { bins: 2 });
    expect(h.nonFinite).toBe(3);
    expect(h.total).toBe(2);
    expect(Array.from(h.counts)).toEqual([1, 1]);
  });

  it('counts values outside a given range as under- and overflow', () => {
    const h = histogram([-1, 0, 0.5, 1, 2], { bins: 2, range: [0, 1] });
    expect([h.underflow, h.overflow, h.total]).toEqual([1, 1, 3]);
    expect(Array.from(h.counts)).toEqual([1, 2]);
  });

  it('centres a unit range on constant data, and handles empty input', () => {
    const constant = histogram([3, 3, 3], { bins: 2 });
    expect(Array.from(constant.edges)).toEqual([2.5, 3, 3.5]);
    expect(Array.from(constant.counts)).toEqual([0, 3]);
    const empty = histogram([]);
    expect(empty.total).toBe(0);
    expect(empty.counts.length).toBe(1);
  });

  it('defaults to Sturges bins', () => {
    expect(histogram(Float32Array.from({ length: 1000 }, (_, i) => i)).counts.length).toBe(11);
  });

  it('rejects bad bins and ranges with a fix', () => {
    expect(() => histogram([1, 2], { bins: 0 })).toThrow(UsageError);
    expect(() => histogram([1, 2], { bins: 2.5 })).toThrow(/positive integer/);
    expect(() => histogram([1, 2], { range: [1, 1] })).toThrow(/low < high/);
  });
});
