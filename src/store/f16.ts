/** binary16 helpers for the store: widening by table lookup and finiteness checks on bit patterns. */
import { float16BitsToNumber } from '../model/index.js';

let table: Float32Array | null = null;

/** fp32 value of each of the 65536 binary16 bit patterns (256 KiB, built on first use). */
function f16Table(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) t[bits] = float16BitsToNumber(bits);
  table = t;
  return t;
}

/** Widens binary16 bit patterns to fp32 (exact: every f16 value is an f32 value). */
export function widenF16(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const t = f16Table();
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}

/** Index of the first ±Inf or NaN bit pattern (exponent all ones), or -1. */
export function firstNonFiniteF16(bits: Uint16Array): number {
  for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7c00) === 0x7c00) return i;
  return -1;
}

/** Index of the first ±Inf or NaN, or -1. */
export function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) {
    // x - x is NaN exactly when x is ±Inf or NaN; cheaper than Number.isFinite in a hot loop.
    if (x[i] - x[i] !== 0) return i;
  }
  return -1;
}
