import { describe, expect, it } from 'vitest';
import { gatherDecode, gatherDecodeBackward } from '../../src/engine/kernels/gather_decode.js';
import { gatherDecodeBackwardRef, gatherDecodeRef } from '../../src/engine/reference.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { checkGradient, dot, expectClose, gpuOrSkip, randomArray, rng, someCoords } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

/** k distinct latents per row, some latents repeated across rows, some never chosen. */
function indices(next: () => number, batch: number, k: number, dSae: number): Uint32Array {
  const out = new Uint32Array(batch * k);
  for (let b = 0; b < batch; b++) {
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(Math.floor(next() * Math.min(dSae, Math.max(k, dSae / 2))));
    [...chosen].forEach((r, j) => (out[b * k + j] = r));
  }
  return out;
}

const { gpu: g } = { gpu };

describe.skipIf(!g)(`gather decode on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [batch, k, dSae, dIn] of [[1, 1, 1, 1], [3, 2, 7, 5], [17, 4, 97, 31], [64, 8, 300, 65]] as const) {
    it(`forward, backward and finite differences for batch ${batch}, k ${k}, W [${dSae}, ${dIn}]`, async () => {
      const next = rng(batch * 1000 + k * 100 + dSae + dIn);
      const vals = randomArray(next, batch * k, 0, 2);
      const idx = indices(next, batch, k, dSae);
      const w = randomArray(next, dSae * dIn);
      const dy = randomArray(next, batch * dIn);
      const dW0 = randomArray(next, dSae * dIn); // accumulate into a non-zero gradient
      const r = scope(() => {
        const [v, i, wt] = [upload(gpu!, vals, [batch, k]), upload(gpu!, idx, [batch, k], 'u32'), upload(gpu!, w, [dSae, dIn])];
        const y = gatherDecode(v, i, wt);
        const grads = gatherDecodeBackward(upload(gpu!, dy, [batch, dIn]), v, i, wt, upload(gpu!, dW0, [dSae, dIn]));
        return { y, ...grads };
      });
      const [y, dVals, dW] = [await r.y.download(), await r.dVals.download(), await r.dW.download()];
      for (const t of [r.y, r.dVals, r.dW]) t.dispose();
      expectClose(y, gatherDecodeRef(vals, idx, w, batch, k, dIn), 1e-5, 1e-5, 'y');
      const ref = gatherDecodeBackwardRef(dy, vals, idx, w, batch, k, dSae, dIn);
      expectClose(dVals, ref.dVals, 1e-5, 1e-4, 'dVals');
      const selected = new Set(idx);
      // Unselected rows keep dW0 exactly; selected rows add the scatter.
      expectClose(dW, ref.dW.map((v, i) => v + dW0[i]), 1e-5, 1e-4, 'dW');
      for (let rIdx = 0; rIdx < dSae; rIdx++) if (!selected.has(rIdx)) expect(dW[rIdx * dIn]).toBe(Math.fround(dW0[rIdx * dIn]));
      checkGradient((v) => dot(dy, gatherDecodeRef(v, idx, w, batch, k, dIn)), vals, dVals, someCoords(next, batch * k), 'dVals');
      const dWOnly = dW.map((v, i) => v - Math.fround(dW0[i]));
      checkGradient((wv) => dot(dy, gatherDecodeRef(vals, idx, wv, batch, k, dIn)), w, dWOnly, [...selected].slice(0, 6).map((row) => row * dIn + (row % dIn)), 'dW');
    });
  }
});
