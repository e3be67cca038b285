import { describe, it } from 'vitest';
import { adamState, adamStep, disposeAdamState } from '../../src/engine/kernels/adam.js';
import { adamRef } from '../../src/engine/reference.js';
import { upload } from '../../src/engine/tensor.js';
import { expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`Adam on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const decoupled of [true, false]) {
    for (const n of [1, 97, 1000, 1024]) {
      it(`${decoupled ? 'AdamW' : 'Adam (L2)'}: 3 steps on ${n} parameters match the reference`, async () => {
        const next = rng(n + (decoupled ? 1 : 0));
        const opts = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled };
        let p: Float64Array = randomArray(next, n);
        let m: Float64Array = new Float64Array(n);
        let v: Float64Array = new Float64Array(n);
        const param = upload(gpu!, p, [n]);
        const state = adamState(param);
        for (let t = 1; t <= 3; t++) {
          const g = randomArray(next, n);
          const grad = upload(gpu!, g, [n]);
          adamStep(param, grad, state, opts);
          grad.dispose();
          ({ param: p, m, v } = adamRef(p, g, m, v, t, opts));
        }
        expectClose(await param.download(), p, 1e-6, 1e-4, 'param');
        expectClose(await state.m.download(), m, 1e-6, 1e-4, 'm');
        expectClose(await state.v.download(), v, 1e-7, 1e-4, 'v');
        param.dispose();
        disposeAdamState(state);
      });
    }
  }
});
