/**
 * gpuEncoder (what the SAE dashboard scan and the CE/KL metrics encode with) pads each call to a
 * multiple of 256 rows so the engine's size-keyed buffer pool sees a few sizes instead of one per
 * row count; the padding must not show in the result: f equals the float64 reference for row
 * counts below, at and above the quantum, and no tensor stays live.
 */
import { describe, expect, it } from 'vitest';
import { liveTensorBytes } from '../../src/engine/index.js';
import { disposeGpuSae, uploadSae } from '../../sae/gpu-sae.js';
import { gpuEncoder } from '../../sae/lm-eval.js';
import { encodeReference } from '../../sae/sae.js';
import { expectClose, gpuOrSkip } from '../engine/helpers.js';
import { randomSae } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();
const d = 8;
const m = 24;

describe.skipIf(!gpu)(`gpuEncoder${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const arch of ['relu', 'topk', 'jumprelu'] as const) {
    it(`${arch}: f [n, m] matches the reference for n = 1, 37, 256, 300`, async () => {
      const sae = randomSae(arch, d, m, 7, 4);
      const g = uploadSae(gpu!, sae);
      const live = liveTensorBytes(gpu!);
      try {
        const encode = gpuEncoder(g);
        for (const n of [1, 37, 256, 300]) {
          const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.37) * 2);
          const f = await encode(x, n);
          const want = encodeReference(sae, x, n);
          expect(f.length).toBe(n * m);
          expectClose(f, want, 1e-4, 1e-4, `f at n = ${n}`);
          expect(liveTensorBytes(gpu!)).toBe(live);
        }
      } finally {
        disposeGpuSae(g);
      }
    });
  }
});
