/**
 * Safetensors element types: sizes, and widening of the 16-bit float formats to fp32.
 *
 * F16 is IEEE 754 binary16 (1 sign, 5 exponent, 10 mantissa bits); BF16 is the top half of a
 * binary32 (1 sign, 8 exponent, 7 mantissa bits), so widening it is a 16-bit shift. Both widen
 * exactly: every F16 and BF16 value is representable in fp32.
 */

import type { SafetensorsDtype } from './types.js';

/** Bytes per element of each dtype interp reads (BOOL is one byte, 0 or 1). */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Every dtype interp reads, in the order error messages list them. */
export const SAFETENSORS_DTYPES = Object.keys(DTYPE_BYTES) as readonly SafetensorsDtype[];

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BYTES, value);
}

/** Floating-point dtypes, which readF32 widens or copies. */
export function isFloatDtype(dtype: SafetensorsDtype): dtype is 'F32' | 'F16' | 'BF16' | 'F64' {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

/** Safetensors data is little-endian; typed arrays use the host's order. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | null = null;

/** fp32 value of every binary16 bit pattern, built once on first use (256 KiB): the one fp16 decoding table (the store widens through it too). */
export function float16Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = float16BitsToNumber(bits);
  f16Table = table;
  return table;
}

/** Decodes one binary16 bit pattern: normal, subnormal (exponent 0), ±Inf and NaN (exponent 31). */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Widens raw little-endian F16 / BF16 / F64 / F32 bytes to fp32.
 * `bytes.byteLength` must be a multiple of the element size (checked by the header parser).
 */
export function widenToFloat32(dtype: 'F32' | 'F16' | 'BF16' | 'F64', bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  if (dtype === 'F32' && HOST_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    // Reuse the buffer the caller read into: no copy for the common fp32 case.
    return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  }
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'F16': {
      const table = float16Table();
      for (let i = 0; i < n; i++) out[i] = table[view.getUint16(i * 2, true)];
      return out;
    }
    case 'BF16': {
      // BF16 is the high half of an fp32 bit pattern.
      const outView = new DataView(out.buffer);
      for (let i = 0; i < n; i++) outView.setUint32(i * 4, view.getUint16(i * 2, true) << 16, HOST_LITTLE_ENDIAN);
      return out;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
  }
}

/**
 * Rounds fp32 values to binary16 bit patterns (round to nearest, ties to even; overflow to ±Inf,
 * NaN kept). For writers that store F16, e.g. `writeSafetensors(..., { dtype: 'F16', data })`.
 */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i];
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or a quiet NaN
      continue;
    }
    const e = exp - 127 + 15; // rebias the exponent
    if (e >= 31) {
      out[i] = sign | 0x7c00; // too large: ±Inf
    } else if (e <= 0) {
      // Subnormal or zero in binary16: shift the implicit 1 into the mantissa, round to even.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let h = mant >>> shift;
      if (rest > half || (rest === half && (h & 1))) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent: correct
      out[i] = sign | h;
    }
  }
  return out;
}
