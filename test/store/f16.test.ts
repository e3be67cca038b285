import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { float16BitsToNumber, toFloat16Bits } from '../../src/model/index.js';
import { firstNonFinite, firstNonFiniteF16, toF16Bits, widenF16 } from '../../src/store/f16.js';

describe('store f16 helpers', () => {
  it('toF16Bits equals the reference toFloat16Bits on edge cases (ties, subnormals, overflow, NaN)', () => {
    const edge = [0, -0, 1, -1, 65504, 65519.99, 65520, 65536, 1e9, -1e9, Infinity, -Infinity, NaN, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -26, 1.5 * 2 ** -24, 2.5 * 2 ** -24, 1e-10, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, 3.14159];
    const x = Float32Array.from([...edge, ...edge.map((v) => -v)]);
    expect(Array.from(toF16Bits(x))).toEqual(Array.from(toFloat16Bits(x)));
  });

  it('toF16Bits equals the reference on random bit patterns', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 200 }), (bits) => {
        const x = new Float32Array(Uint32Array.from(bits).buffer);
        expect(Array.from(toF16Bits(x))).toEqual(Array.from(toFloat16Bits(x)));
      }),
    );
  });

  it('widens exactly and finds non-finite values', () => {
    const bits = Uint16Array.from([0, 0x3c00, 0xc000, 0x0001, 0x7bff]);
    expect(Array.from(widenF16(bits))).toEqual(Array.from(bits, float16BitsToNumber));
    expect(firstNonFiniteF16(Uint16Array.from([0, 0x7c00]))).toBe(1);
    expect(firstNonFiniteF16(Uint16Array.from([0, 0x7bff]))).toBe(-1);
    expect(firstNonFinite(Float32Array.of(1, 2, NaN))).toBe(2);
    expect(firstNonFinite(Float32Array.of(1, -Infinity))).toBe(1);
    expect(firstNonFinite(Float32Array.of(1, 3e38))).toBe(-1);
  });
});
