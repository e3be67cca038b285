import { describe, it } from 'vitest';
import { REDUCE_OPS, reduce } from '../../src/engine/kernels/reduce.js';
import { reduceRef } from '../../src/engine/reference.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`reduce on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [rows, cols] of [[1, 1], [1, 97], [97, 1], [31, 257]] as const) {
    for (const op of REDUCE_OPS) {
      for (const axis of ['rows', 'cols'] as const) {
        it(`${op} over ${axis} of [${rows}, ${cols}]`, async () => {
          const x = randomArray(rng(rows * 31 + cols), rows * cols, -2, 2);
          const got = await scope(() => reduce(upload(gpu!, x, [rows, cols]), op, axis)).download();
          expectClose(got, reduceRef(x, rows, cols, op, axis), 1e-5, 1e-4, `${op} ${axis}`);
        });
      }
    }
  }
  it('max of a row of -inf-like values and large magnitudes (overflow hazard)', async () => {
    const x = Float64Array.from([-3e38, -1e38, 3e38, 1]);
    const got = await scope(() => reduce(upload(gpu!, x, [1, 4]), 'max')).download();
    expectClose(got, [3e38], 0, 1e-6);
  });
});
