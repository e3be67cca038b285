import { describe, expect, it } from 'vitest';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from '../../src/engine/kernels/softmax.js';
import { softmaxRef } from '../../src/engine/reference.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { checkGradient, dot, expectClose, gpuOrSkip, randomArray, rng, someCoords } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`softmax on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [rows, cols] of [[1, 1], [3, 7], [17, 129]] as const) {
    for (const log of [false, true]) {
      const name = log ? 'log_softmax' : 'softmax';
      it(`${name} forward and backward on [${rows}, ${cols}]`, async () => {
        const next = rng(rows * 100 + cols + (log ? 1 : 0));
        const x = randomArray(next, rows * cols, -4, 4);
        const dy = randomArray(next, rows * cols);
        const { y, dx } = scope(() => {
          const xt = upload(gpu!, x, [rows, cols]);
          const yt = log ? logSoftmax(xt) : softmax(xt);
          const dyt = upload(gpu!, dy, [rows, cols]);
          return { y: yt, dx: log ? logSoftmaxBackward(dyt, yt) : softmaxBackward(dyt, yt) };
        });
        const [yh, dxh] = [await y.download(), await dx.download()];
        y.dispose();
        dx.dispose();
        expectClose(yh, softmaxRef(x, rows, cols, log), 1e-6, 1e-5, name);
        checkGradient((v) => dot(dy, softmaxRef(v, rows, cols, log)), x, dxh, someCoords(next, rows * cols), `${name} backward`);
      });
    }
  }
  it('large logits do not overflow (max is subtracted)', async () => {
    const got = await scope(() => softmax(upload(gpu!, [1000, 1001, 1002], [1, 3]))).download();
    expectClose(got, softmaxRef([1000, 1001, 1002], 1, 3), 1e-6, 1e-5);
    expect(Array.from(got).every(Number.isFinite)).toBe(true);
  });
});
