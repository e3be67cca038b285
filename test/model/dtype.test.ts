import { describe, expect, it } from 'vitest';
import { float16BitsToNumber, toFloat16Bits, widenToFloat32 } from '../../src/model/dtype.js';
import { u16le } from './helpers.js';

describe('F16 widening', () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504], // largest finite
    [0x0400, 2 ** -14], // smallest normal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  it.each(cases)('bits %s → %s', (bits, value) => {
    expect(float16BitsToNumber(bits)).toBe(value);
    expect(widenToFloat32('F16', u16le([bits]))[0]).toBe(value);
  });

  it('keeps NaN and the sign of zero', () => {
    const out = widenToFloat32('F16', u16le([0x7e00, 0x8000]));
    expect(out[0]).toBeNaN();
    expect(Object.is(out[1], -0)).toBe(true);
  });
});

describe('BF16 widening', () => {
  const cases: [number, number][] = [
    [0x3f80, 1],
    [0x4049, 3.140625],
    [0xc2f7, -123.5],
    [0x7f7f, 3.3895313892515355e38], // largest finite
    [0x0001, 9.183549615799121e-41], // smallest subnormal
    [0x7f80, Infinity],
    [0xff80, -Infinity],
  ];
  it.each(cases)('bits %s → %s', (bits, value) => {
    expect(widenToFloat32('BF16', u16le([bits]))[0]).toBe(Math.fround(value));
  });
});

describe('F64 and F32', () => {
  it('rounds F64 to the nearest fp32', () => {
    const bytes = new Uint8Array(new Float64Array([0.1, -1e300, 2.5]).buffer);
    expect([...widenToFloat32('F64', bytes)]).toEqual([Math.fround(0.1), -Infinity, 2.5]);
  });

  it('reads F32 at an unaligned offset', () => {
    const buf = new Uint8Array(9);
    new DataView(buf.buffer).setFloat32(1, 1.5, true);
    new DataView(buf.buffer).setFloat32(5, -2, true);
    expect([...widenToFloat32('F32', buf.subarray(1))]).toEqual([1.5, -2]);
  });
});

describe('toFloat16Bits', () => {
  it('round-trips every non-NaN binary16 pattern', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const values = widenToFloat32('F16', new Uint8Array(bits.buffer));
    const back = toFloat16Bits(values);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(values[i])) expect(back[i] & 0x7c00).toBe(0x7c00);
      else if (back[i] !== i) throw new Error(`pattern ${i.toString(16)} came back as ${back[i].toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, and overflows to Inf', () => {
    const v = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519, 65520, 1e-8, -1e6, 2 ** -25, 2 ** -25 * 3]);
    expect([...toFloat16Bits(v)]).toEqual([0x3c00, 0x3c02, 0x7bff, 0x7c00, 0x0000, 0xfc00, 0x0000, 0x0002]);
  });
});
