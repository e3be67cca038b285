/**
 * The two GPU evaluators of the logistic data term (kernels/logistic.ts) against a float64 host
 * reference and each other, including extreme logits (|z| ≈ 60, where a naive log(1 + e^−m)
 * overflows), and the gradient against finite differences of the reference loss.
 */
import { describe, expect, it } from 'vitest';
import { getGpu, upload } from '../../src/engine/index.js';
import { engineEvaluator, fusedEvaluator } from '../../probes/kernels/logistic.js';
import { gaussian, rng } from '../../probes/split.js';

function reference(x: Float32Array, t: Float32Array, w: Float32Array, b: Float32Array, n: number, d: number, k: number) {
  let loss = 0;
  const gw = new Float64Array(k * d);
  const gb = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let z = b[c];
      for (let j = 0; j < d; j++) z += x[i * d + j] * w[c * d + j];
      const y = t[i * k + c];
      loss += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
      const g = (1 / (1 + Math.exp(-z)) - y) / n;
      gb[c] += g;
      for (let j = 0; j < d; j++) gw[c * d + j] += g * x[i * d + j];
    }
  }
  return { loss: loss / n, gw, gb };
}

describe('logistic evaluators', () => {
  it.each([[1, 300, 16, 0.3], [4, 257, 32, 0.3], [3, 100, 8, 15]])('K=%i n=%i d=%i (weight scale %d) agree with the float64 reference', async (k, n, d, scale) => {
    const gpu = await getGpu();
    const normal = gaussian(rng(k * 1000 + n));
    const x = Float32Array.from({ length: n * d }, normal);
    const t = Float32Array.from({ length: n * k }, () => (normal() > 0 ? 1 : 0));
    const w = Float32Array.from({ length: k * d }, () => scale * normal());
    const b = Float32Array.from({ length: k }, normal);
    const ref = reference(x, t, w, b, n, d, k);
    const xt = upload(gpu, x, [n, d]);
    const tt = upload(gpu, t, [n, k]);
    for (const make of [engineEvaluator, fusedEvaluator]) {
      const ev = make(gpu, xt, tt, k);
      const got = await ev.evaluate(w, b);
      ev.dispose();
      expect(Math.abs(got.loss - ref.loss) / Math.max(1, ref.loss), ev.name).toBeLessThan(1e-5);
      got.gradW.forEach((g, i) => expect(Math.abs(g - ref.gw[i]), `${ev.name} gradW[${i}]`).toBeLessThan(2e-5 * Math.max(1, scale)));
      got.gradB.forEach((g, i) => expect(Math.abs(g - ref.gb[i]), `${ev.name} gradB[${i}]`).toBeLessThan(2e-5));
    }
    // The reference gradient against central differences of the reference loss.
    const h = 1e-3;
    for (const i of [0, d - 1, k * d - 1]) {
      const plus = Float32Array.from(w); plus[i] += h;
      const minus = Float32Array.from(w); minus[i] -= h;
      const fd = (reference(x, t, plus, b, n, d, k).loss - reference(x, t, minus, b, n, d, k).loss) / (2 * h);
      expect(Math.abs(fd - ref.gw[i])).toBeLessThan(1e-3 * Math.max(1, Math.abs(fd)));
    }
    xt.dispose(); tt.dispose();
  });
});
