import { describe, expect, it } from 'vitest';
import { formatNumber, plotNumber } from '../../src/report/index.js';

describe('number formatting', () => {
  it('formats for people', () => {
    expect([0, 42, 12345, 2.5e7, 0.123456, 1.5e-5, 2.5e7 + 0.5, NaN, Infinity, -Infinity].map(formatNumber)).toEqual(['0', '42', '12,345', '25,000,000', '0.1235', '1.500e-5', '2.500e+7', 'NaN', '∞', '−∞']);
  });

  it('rounds plotted numbers to 6 significant digits and maps non-finite to null', () => {
    expect([Math.fround(0.1), 1 / 3, NaN, -Infinity, 0].map(plotNumber)).toEqual([0.1, 0.333333, null, null, 0]);
  });
});
