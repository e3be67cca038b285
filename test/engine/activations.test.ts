import { describe, it } from 'vitest';
import { jumpreluBackward, jumpreluForward, reluBackward, reluForward } from '../../src/engine/kernels/activations.js';
import { jumpreluRef, jumpreluThresholdGradRef } from '../../src/engine/reference.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { checkGradient, dot, expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

/** Coordinates whose value is at least `margin` away from its threshold (finite differences are valid there). */
function awayFrom(x: ArrayLike<number>, theta: (i: number) => number, margin: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length && out.length < 10; i++) if (Math.abs(x[i] - theta(i)) > margin) out.push(i);
  return out;
}

describe.skipIf(!gpu)(`ReLU and JumpReLU on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [rows, cols] of [[1, 1], [7, 13], [33, 65]] as const) {
    it(`relu forward/backward on [${rows}, ${cols}] with finite differences`, async () => {
      const next = rng(rows * cols);
      const x = randomArray(next, rows * cols);
      const dy = randomArray(next, rows * cols);
      const r = scope(() => ({ y: reluForward(upload(gpu!, x, [rows, cols])), dx: reluBackward(upload(gpu!, dy, [rows, cols]), upload(gpu!, x, [rows, cols])) }));
      const [y, dx] = [await r.y.download(), await r.dx.download()];
      r.y.dispose();
      r.dx.dispose();
      expectClose(y, x.map((v) => Math.max(v, 0)), 0, 0, 'relu');
      checkGradient((v) => dot(dy, v.map((q) => Math.max(q, 0))), x, dx, awayFrom(x, () => 0, 1e-3), 'relu backward');
    });
    it(`jumprelu forward/backward on [${rows}, ${cols}]`, async () => {
      const next = rng(rows * cols + 1);
      const x = randomArray(next, rows * cols, -0.5, 1);
      const theta = randomArray(next, cols, 0.05, 0.4);
      // Put some inputs inside the kernel window so dθ is exercised.
      for (let c = 0; c < cols; c++) x[c] = Math.fround(theta[c] + 1e-4);
      const dy = randomArray(next, rows * cols);
      const eps = 1e-3;
      const r = scope(() => {
        const xt = upload(gpu!, x, [rows, cols]);
        const tt = upload(gpu!, theta, [cols]);
        return { y: jumpreluForward(xt, tt), ...jumpreluBackward(upload(gpu!, dy, [rows, cols]), xt, tt, eps) };
      });
      const [y, dx, dTheta] = [await r.y.download(), await r.dx.download(), await r.dTheta.download()];
      for (const t of [r.y, r.dx, r.dTheta]) t.dispose();
      expectClose(y, jumpreluRef(x, theta, cols), 0, 0, 'jumprelu');
      checkGradient((v) => dot(dy, jumpreluRef(v, theta, cols)), x, dx, awayFrom(x, (i) => theta[i % cols], 1e-3), 'jumprelu dx');
      // dθ is a straight-through estimate (no finite difference exists): compare with the reference formula.
      expectClose(dTheta, jumpreluThresholdGradRef(dy, x, theta, rows, cols, eps), 1e-3, 1e-4, 'jumprelu dθ');
    });
  }
});
