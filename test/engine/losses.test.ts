import { describe, expect, it } from 'vitest';
import { bce, mse } from '../../src/engine/kernels/losses.js';
import { bceRef, mseRef } from '../../src/engine/reference.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { checkGradient, expectClose, gpuOrSkip, randomArray, rng, someCoords } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`losses on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const shape of [[1], [7, 3], [41, 257]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    for (const kind of ['mse', 'bce'] as const) {
      it(`${kind} and its gradient on [${shape.join(', ')}]`, async () => {
        const next = rng(n + (kind === 'bce' ? 1 : 0));
        const pred = randomArray(next, n, -3, 3);
        const target = kind === 'bce' ? randomArray(next, n, 0, 1) : randomArray(next, n);
        const f = kind === 'mse' ? mse : bce;
        const ref = kind === 'mse' ? mseRef : bceRef;
        const r = scope(() => f(upload(gpu!, pred, shape), upload(gpu!, target, shape), { grad: true }));
        const [loss, grad] = [await r.loss.download(), await r.grad!.download()];
        r.loss.dispose();
        r.grad!.dispose();
        expectClose(loss, [ref(pred, target)], 1e-6, 1e-4, `${kind} loss`);
        checkGradient((p) => ref(p, target), pred, grad, someCoords(next, n), `${kind} grad`, 1e-5, 1e-6, 2e-3);
      });
    }
  }
  it('bce with large logits stays finite (overflow hazard)', async () => {
    const r = scope(() => bce(upload(gpu!, [200, -200, 90], [3]), upload(gpu!, [0, 1, 1], [3]), { grad: true }));
    const [loss, grad] = [await r.loss.download(), await r.grad!.download()];
    r.loss.dispose();
    r.grad!.dispose();
    expectClose(loss, [bceRef([200, -200, 90], [0, 1, 1])], 1e-3, 1e-5);
    expect(Array.from(grad).every(Number.isFinite)).toBe(true);
  });
  it('rejects a target of another shape', () => {
    scope(() => expect(() => mse(upload(gpu!, [1, 2], [2]), upload(gpu!, [1, 2, 3], [3]))).toThrow(/target must be \[2\] f32, received \[3\] f32/));
  });
});
