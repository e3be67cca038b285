import { describe, it } from 'vitest';
import { transpose } from '../../src/engine/kernels/transpose.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`transpose on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [rows, cols] of [[1, 1], [1, 5], [7, 1], [13, 29], [64, 33]] as const) {
    it(`[${rows}, ${cols}]`, async () => {
      const x = randomArray(rng(rows * cols), rows * cols);
      const got = await scope(() => transpose(upload(gpu!, x, [rows, cols]))).download();
      const ref = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) ref[c * rows + r] = x[r * cols + c];
      expectClose(got, ref, 0, 0);
    });
  }
});
