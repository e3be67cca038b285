import { describe, expect, it } from 'vitest';
import { matmul } from '../../src/engine/kernels/matmul.js';
import { matmulRef } from '../../src/engine/reference.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`matmul on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const shapes: [number, number, number][] = [
    [4, 4, 4], [36, 8, 12], [100, 64, 36], [64, 128, 96],
    [1, 1, 1], [1, 7, 1], [3, 5, 2], [31, 17, 33], [33, 64, 31], [65, 13, 97], [128, 96, 64], [7, 129, 250],
  ];
  for (const kernel of ['lanes', 'tiled'] as const) {
  for (const [m, k, n] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it.skipIf(kernel === 'lanes' && !(gpu?.profile.subgroups && gpu.profile.subgroupMinSize >= 8))(`${kernel}: [${m}, ${k}] · [${k}, ${n}]${transA ? ' transA' : ''}${transB ? ' transB' : ''} with bias`, async () => {
          const next = rng(m * 1000 + k * 10 + n + (transA ? 7 : 0) + (transB ? 13 : 0));
          const a = randomArray(next, m * k);
          const b = randomArray(next, k * n);
          const bias = randomArray(next, n);
          const c = scope(() => matmul(upload(gpu!, a, transA ? [k, m] : [m, k]), upload(gpu!, b, transB ? [n, k] : [k, n]), { transA, transB, kernel, bias: upload(gpu!, bias, [n]) }));
          const got = await c.download();
          c.dispose();
          expectClose(got, matmulRef(a, b, m, k, n, transA, transB, bias), 1e-5 * Math.sqrt(k), 1e-4);
        });
      }
    }
  }
  }

  // A device whose storage bindings hold only 16 KiB forces the row and k splits of big operands.
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`splits operands larger than the binding limit${transA ? ' transA' : ''}${transB ? ' transB' : ''}`, async () => {
      const small = { ...gpu!, profile: { ...gpu!.profile, maxStorageBindingBytes: 16384 + 256, storageOffsetAlignment: 256 } };
      const [m, k, n] = [200, 40, 20]; // 4 row blocks of C; with A transposed, 2 blocks of k
      const next = rng(99 + (transA ? 1 : 0) + (transB ? 2 : 0));
      const a = randomArray(next, m * k);
      const b = randomArray(next, k * n);
      const bias = randomArray(next, n);
      const c = scope(() => matmul(upload(small, a, transA ? [k, m] : [m, k]), upload(small, b, transB ? [n, k] : [k, n]), { transA, transB, bias: upload(small, bias, [n]) }));
      const got = await c.download();
      c.dispose();
      expectClose(got, matmulRef(a, b, m, k, n, transA, transB, bias), 1e-5 * Math.sqrt(k), 1e-4);
    });
  }

  it('accumulates into out', async () => {
    const next = rng(5);
    const [m, k, n] = [9, 11, 13];
    const a = randomArray(next, m * k);
    const b = randomArray(next, k * n);
    const c0 = randomArray(next, m * n);
    const out = upload(gpu!, c0, [m, n]);
    scope(() => matmul(upload(gpu!, a, [m, k]), upload(gpu!, b, [k, n]), { out, accumulate: true }));
    const ref = matmulRef(a, b, m, k, n).map((v, i) => v + c0[i]);
    expectClose(await out.download(), ref, 1e-5, 1e-4);
    out.dispose();
  });

  it('rejects mismatched inner sizes with the shapes in the message', () => {
    scope(() => {
      const a = upload(gpu!, new Float32Array(6), [2, 3]);
      const b = upload(gpu!, new Float32Array(8), [4, 2]);
      expect(() => matmul(a, b)).toThrow(/inner sizes differ.*\[2, 3\].*\[4, 2\]/);
    });
  });
});
