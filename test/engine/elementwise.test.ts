import { describe, it } from 'vitest';
import { BINARY_OPS, UNARY_OPS, binary, unary } from '../../src/engine/kernels/elementwise.js';
import { binaryRef, unaryRef } from '../../src/engine/reference.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`elementwise on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [rows, cols] of [[1, 1], [7, 13], [64, 65]] as const) {
    for (const op of UNARY_OPS) {
      it(`${op} on [${rows}, ${cols}]`, async () => {
        const positive = op === 'log' || op === 'sqrt';
        const x = randomArray(rng(rows * cols), rows * cols, positive ? 0.1 : -3, 3);
        const got = await scope(() => unary(op, upload(gpu!, x, [rows, cols]), { alpha: 1.5, beta: -0.25 })).download();
        expectClose(got, unaryRef(op, x, 1.5, -0.25), 1e-6, 1e-5, op);
      });
    }
    for (const op of BINARY_OPS) {
      for (const bShape of [[rows, cols], [cols], [1]]) {
        it(`${op} on [${rows}, ${cols}] with b [${bShape.join(', ')}]`, async () => {
          const next = rng(rows + cols * 7);
          const a = randomArray(next, rows * cols);
          const b = randomArray(next, bShape.reduce((p, q) => p * q, 1), 0.5, 2);
          const got = await scope(() => binary(op, upload(gpu!, a, [rows, cols]), upload(gpu!, b, bShape))).download();
          expectClose(got, binaryRef(op, a, b, cols), 1e-6, 1e-5, op);
        });
      }
    }
  }
});
