/** Shared test helpers for the engine suites: seeded data, the GPU (or a skip reason), comparisons. */
import { getGpu, type Gpu } from '../../src/engine/device.js';
import { mulberry32 } from '../../src/util/random.js';

/** The device, or undefined with the reason when no adapter exists (suites then skip). */
export async function gpuOrSkip(): Promise<{ gpu?: Gpu; reason?: string }> {
  try {
    return { gpu: await getGpu() };
  } catch (error) {
    return { reason: `no WebGPU adapter: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** The project's seeded generator (src/util/random.ts), so failures reproduce. */
export const rng = mulberry32;

/** `n` values uniform in [lo, hi), rounded to f32 so host and GPU see the same inputs. */
export function randomArray(next: () => number, n: number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(lo + (hi - lo) * next());
  return out;
}

/** Largest |a − b| / (atol + rtol·|b|); ≤ 1 means within tolerance. */
export function worst(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): { ratio: number; index: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let ratio = 0;
  let index = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const r = a === e || (Number.isNaN(a) && Number.isNaN(e)) ? 0 : Math.abs(a - e) / (atol + rtol * Math.abs(e));
    if (!(r <= ratio)) {
      ratio = Number.isNaN(r) ? Infinity : r;
      index = i;
    }
  }
  return { ratio, index };
}

/** Throws with the first worst element when `actual` is not close to `expected`. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-4, what = 'values'): void {
  const { ratio, index } = worst(actual, expected, atol, rtol);
  if (ratio > 1) throw new Error(`${what}: element ${index} is ${actual[index]}, expected ${expected[index]} (error ${ratio.toFixed(2)}× tolerance atol ${atol}, rtol ${rtol})`);
}

/** Finite-difference gradient of f at x for a few coordinates, compared with `grad`. */
export function checkGradient(f: (x: Float64Array) => number, x: Float64Array, grad: ArrayLike<number>, coords: number[], what: string, h = 1e-5, atol = 2e-4, rtol = 2e-3): void {
  for (const i of coords) {
    const plus = Float64Array.from(x);
    const minus = Float64Array.from(x);
    plus[i] += h;
    minus[i] -= h;
    const fd = (f(plus) - f(minus)) / (2 * h);
    if (Math.abs(fd - grad[i]) > atol + rtol * Math.abs(fd)) throw new Error(`${what}: gradient at ${i} is ${grad[i]}, finite difference ${fd}`);
  }
}

/** A few coordinates of an array of length n, including the first and last. */
export function someCoords(next: () => number, n: number, count = 8): number[] {
  const out = new Set([0, n - 1]);
  while (out.size < Math.min(count, n)) out.add(Math.floor(next() * n));
  return [...out];
}

/** Σ w ⊙ y: the scalar whose gradient with respect to y is w (turns a Jacobian check into a gradient check). */
export function dot(w: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i] * y[i];
  return s;
}
