import { describe, it } from 'vitest';
import { normalize } from '../../src/engine/kernels/normalize.js';
import { normalizeRef } from '../../src/engine/reference.js';
import { upload } from '../../src/engine/tensor.js';
import { expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`normalize on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [rows, cols] of [[1, 1], [7, 13], [97, 31]] as const) {
    for (const axis of ['rows', 'cols'] as const) {
      it(`unit ${axis} of [${rows}, ${cols}] in place`, async () => {
        const x = randomArray(rng(rows * cols), rows * cols);
        const t = upload(gpu!, x, [rows, cols]);
        const norms = normalize(t, axis);
        const ref = normalizeRef(x, rows, cols, axis);
        expectClose(await t.download(), ref.x, 1e-6, 1e-5, 'x');
        expectClose(await norms.download(), ref.norms, 1e-6, 1e-5, 'norms');
        t.dispose();
        norms.dispose();
      });
    }
  }
  it('a zero row stays zero (no division by zero)', async () => {
    const t = upload(gpu!, [0, 0, 3, 4], [2, 2]);
    const norms = normalize(t, 'rows');
    expectClose(await t.download(), [0, 0, 0.6, 0.8], 1e-7, 1e-6);
    t.dispose();
    norms.dispose();
  });
});
