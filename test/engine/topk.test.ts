import { describe, expect, it } from 'vitest';
import { batchTopk, topk } from '../../src/engine/kernels/topk.js';
import { batchTopkRef, topkRef } from '../../src/engine/reference.js';
import { scope, upload } from '../../src/engine/tensor.js';
import { expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`top-k on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [rows, cols, k] of [[1, 1, 1], [3, 7, 7], [5, 97, 1], [13, 101, 5], [64, 300, 32]] as const) {
    it(`row-wise top-${k} of [${rows}, ${cols}]`, async () => {
      const x = randomArray(rng(rows * cols + k), rows * cols, -5, 5);
      const r = scope(() => topk(upload(gpu!, x, [rows, cols]), k));
      const [values, indices] = [await r.values.download(), await r.indices.download()];
      r.values.dispose();
      r.indices.dispose();
      const ref = topkRef(x, rows, cols, k);
      expectClose(values, ref.values, 0, 0, 'values');
      expect(Array.from(indices)).toEqual(Array.from(ref.indices));
    });
  }
  it('ties go to the lower index', async () => {
    const r = scope(() => topk(upload(gpu!, [1, 3, 3, 0, 3, 2], [1, 6]), 3));
    expect(Array.from(await r.indices.download())).toEqual([1, 2, 4]);
    r.values.dispose();
    r.indices.dispose();
  });
  it('rejects k larger than the row', () => {
    scope(() => expect(() => topk(upload(gpu!, [1, 2], [1, 2]), 3)).toThrow(/k must be an integer in \[1, 2\]/));
  });

  for (const [rows, cols, k] of [[1, 1, 1], [4, 9, 2], [37, 101, 3], [128, 513, 8]] as const) {
    it(`batch-wide top-${k} of [${rows}, ${cols}] (negative and positive values)`, async () => {
      const x = randomArray(rng(rows * 3 + cols * 5 + k), rows * cols, -2, 2);
      const r = scope(() => batchTopk(upload(gpu!, x, [rows, cols]), k));
      const [values, threshold] = [await r.values.download(), await r.threshold.download()];
      r.values.dispose();
      r.threshold.dispose();
      const ref = batchTopkRef(x, rows, k);
      expect(threshold[0]).toBe(ref.threshold);
      expectClose(values, ref.values, 0, 0, 'kept values');
      expect(Array.from(values).filter((v) => v !== 0).length).toBe(k * rows);
    });
  }
});
