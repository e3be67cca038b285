/** evaluateSae against a float64 computation over the same rows (and the EV formula's centring). */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCapture } from '../../src/store/index.js';
import { evaluateSae, histogram } from '../../sae/metrics.js';
import { decodeReference, encodeReference, type Sae } from '../../sae/sae.js';
import { heldOutSequences } from '../../sae/split.js';
import { gpuOrSkip } from '../engine/helpers.js';
import { HOOK, randomSae, syntheticCapture, tempDir } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();
const d = 8;
const dir = syntheticCapture(path.join(tempDir('metrics'), 'capture'), { d, sequences: 60, len: 10, atoms: 12 });

function expected(sae: Sae, select: (seq: number) => boolean) {
  const capture = openCapture(dir);
  const m = sae.cfg.d_sae;
  let n = 0, err = 0, sq = 0, cos = 0, ratio = 0, active = 0;
  const sum = new Float64Array(d);
  const counts = new Float64Array(m);
  for (const b of capture.batches({ hooks: [HOOK], batchRows: 1000, columns: [] })) {
    for (let i = 0; i < b.rows; i++) {
      if (!select(b.seq[i])) continue;
      const x = b.hooks[HOOK].slice(i * d, (i + 1) * d);
      const f = encodeReference(sae, x, 1);
      const xh = decodeReference(sae, f, 1);
      let e = 0, xx = 0, hh = 0, xh2 = 0;
      for (let j = 0; j < d; j++) { e += (x[j] - xh[j]) ** 2; xx += x[j] ** 2; hh += xh[j] ** 2; xh2 += x[j] * xh[j]; sum[j] += x[j]; }
      f.forEach((v, c) => { if (v > 0) { counts[c]++; active++; } });
      err += e; sq += xx; cos += xh2 / Math.sqrt(xx * hh); ratio += Math.sqrt(hh / xx); n++;
    }
  }
  capture.close();
  const meanSq = sum.reduce((a, v) => a + (v / n) ** 2, 0);
  return { n, l0: active / n, mse: err / n, ev: 1 - err / n / (sq / n - meanSq), evAroundZero: 1 - err / sq, cos: cos / n, ratio: ratio / n, density: counts.map((c) => c / n) };
}

describe.skipIf(!gpu)(`evaluateSae${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const arch of ['relu', 'topk', 'jumprelu'] as const) {
    it(`${arch}: L0, MSE, mean-centred EV, cosine, norm ratio, density and dead latents are exact`, async () => {
      const sae = randomSae(arch, d, 32, 40, 4);
      sae.weights.b_enc.fill(-100, 0, 3); // three latents that can never fire: dead
      const select = heldOutSequences(0.3);
      const want = expected(sae, select);
      const capture = openCapture(dir);
      const got = await evaluateSae(sae, capture, { sequences: select, batchRows: 64 });
      capture.close();
      expect(got.tokens).toBe(want.n);
      expect(got.l0).toBeCloseTo(want.l0, 10);
      expect(got.mse).toBeCloseTo(want.mse, 3);
      expect(got.explainedVariance).toBeCloseTo(want.ev, 4);
      expect(Math.abs(got.explainedVariance - want.evAroundZero)).toBeGreaterThan(1e-3); // the centring matters here
      expect(got.cosine).toBeCloseTo(want.cos, 4);
      expect(got.normRatio).toBeCloseTo(want.ratio, 4);
      expect([...got.density]).toEqual([...want.density]);
      expect(got.deadFraction).toBe(want.density.filter((p) => p === 0).length / 32);
      expect(got.deadFraction).toBeGreaterThanOrEqual(3 / 32);
      expect(got.histogram.counts.reduce((a, c) => a + c, 0)).toBe(32);
    });
  }
});

describe('density histogram', () => {
  it('puts dead latents in the first bin and density 1 in the last', () => {
    const h = histogram([0, 1, 1e-3, 0.5], 10);
    expect(h.counts[0]).toBe(1);
    expect(h.counts[9]).toBe(2);
    expect(h.counts[7]).toBe(1);
    expect(h.edges).toHaveLength(11);
  });
});
