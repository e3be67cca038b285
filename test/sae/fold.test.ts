/** Folding the input scale into the saved weights: same f, and x̂ in unscaled units. */
import { describe, expect, it } from 'vitest';
import { trainConfig, type SaeVariant } from '../../sae/config.js';
import { foldToSae, type HostParams } from '../../sae/params.js';
import { decodeReference, encodeReference, type Sae } from '../../sae/sae.js';
import { randomArray, rng, expectClose } from '../engine/helpers.js';
import { randomSae } from './helpers.js';

const [d, m, n, s] = [8, 24, 11, 3.7];

describe('fold of the input scale (W_enc·s, W_dec/s, b_dec/s)', () => {
  for (const variant of ['relu', 'topk', 'batchtopk', 'jumprelu'] as SaeVariant[]) {
    it(`${variant}: the saved SAE on x equals the trained one on s·x (f equal, x̂ divided by s)`, () => {
      const base = randomSae(variant === 'topk' ? 'topk' : variant === 'relu' ? 'relu' : 'jumprelu', d, m, 21, 5);
      const cfg = trainConfig({ variant, dIn: d, dSae: m, ...(variant === 'topk' || variant === 'batchtopk' ? { k: 5 } : {}) });
      const theta = variant === 'batchtopk' ? 0.2 : null;
      const h: HostParams = { W_enc: base.weights.W_enc, b_enc: base.weights.b_enc, W_dec: base.weights.W_dec, b_dec: base.weights.b_dec, logThreshold: variant === 'jumprelu' ? base.weights.threshold!.map(Math.log) : null };
      // The trained SAE, applied to scaled inputs: same weights, no fold.
      const trained: Sae = { cfg: { ...base.cfg, architecture: variant === 'relu' ? 'relu' : variant === 'topk' ? 'topk' : 'jumprelu' }, weights: { ...base.weights, threshold: variant === 'batchtopk' ? new Float32Array(m).fill(theta!) : base.weights.threshold } };
      const saved = foldToSae(cfg, h, { scale: s, batchThreshold: theta, metadata: base.cfg.metadata });
      const x = Float32Array.from(randomArray(rng(4), n * d, -2, 2));
      const xs = x.map((v) => v * s);
      const fTrained = encodeReference(trained, xs, n);
      const fSaved = encodeReference(saved, x, n);
      expectClose(fSaved, fTrained, 1e-5, 1e-4, 'f');
      expect(fSaved.some((v) => v > 0)).toBe(true);
      expectClose(decodeReference(saved, fSaved, n), decodeReference(trained, fTrained, n).map((v) => v / s), 1e-5, 1e-4, 'x̂');
      expect(saved.cfg.normalize_activations).toBe('none');
    });
  }
});
