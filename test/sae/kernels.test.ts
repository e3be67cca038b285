/** SAE kernels (sae/kernels) against their TypeScript references. */
import { describe, expect, it } from 'vitest';
import { scope, upload, zeros } from '../../src/engine/index.js';
import { projectRows, projectRowsReference, scaleRowsAdd, scaleRowsAddReference } from '../../sae/kernels/decoder.js';
import { logThresholdBackward, logThresholdBackwardReference } from '../../sae/kernels/jumprelu_l0.js';
import { sparseEncoderBackward, sparseEncoderBackwardReference } from '../../sae/kernels/sparse_encoder.js';
import { countDense, countDenseReference, countRows, countRowsReference, countSparse, countSparseReference, scatterDense, scatterDenseReference } from '../../sae/kernels/latents.js';
import { expectClose, gpuOrSkip, randomArray, rng } from '../engine/helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`SAE kernels on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const [rows, cols, k] of [[1, 1, 1], [7, 13, 3], [65, 300, 8]] as const) {
    it(`latent counts (dense and sparse, accumulated) and scatter for [${rows}, ${cols}], k ${k}`, async () => {
      const next = rng(rows * 31 + cols);
      const f = randomArray(next, rows * cols, -1, 1);
      const idx = Uint32Array.from({ length: rows * k }, (_, i) => (Math.floor(i / k) * 7 + (i % k) * 5) % cols);
      const vals = randomArray(next, rows * k, -0.5, 1);
      const dense0 = randomArray(next, rows * cols);
      const out = scope(() => {
        const counts = zeros(gpu!, [cols], 'u32');
        countDense(counts, upload(gpu!, f, [rows, cols]));
        countSparse(counts, upload(gpu!, vals, [rows, k]), upload(gpu!, idx, [rows, k], 'u32'));
        const perRow = zeros(gpu!, [rows], 'u32');
        countRows(perRow, upload(gpu!, f, [rows, cols]));
        const dense = upload(gpu!, dense0, [rows, cols]);
        if (cols >= 5 * k) scatterDense(dense, upload(gpu!, vals, [rows, k]), upload(gpu!, idx, [rows, k], 'u32'));
        return { counts, dense, perRow };
      });
      const counts = (await out.counts.download()) as Uint32Array;
      const dense = (await out.dense.download()) as Float32Array;
      const perRow = (await out.perRow.download()) as Uint32Array;
      for (const t of [out.counts, out.dense, out.perRow]) t.dispose();
      expect([...perRow]).toEqual([...countRowsReference(f, rows, cols)]);
      const want = countDenseReference(f, rows, cols).map((c, i) => c + countSparseReference(vals, idx, cols)[i]);
      expect([...counts]).toEqual([...want]);
      expectClose(dense, cols >= 5 * k ? scatterDenseReference(dense0, vals, idx, rows, cols, k) : dense0, 1e-6, 1e-6, 'scatter');
    });
  }

  it('decoder-row projection and per-row scaled add', async () => {
    const [rows, cols] = [37, 19];
    const next = rng(5);
    const g = randomArray(next, rows * cols);
    const w = randomArray(next, rows * cols);
    const s = randomArray(next, rows);
    const out = scope(() => {
      const a = upload(gpu!, g, [rows, cols]);
      const b = upload(gpu!, g, [rows, cols]);
      const wt = upload(gpu!, w, [rows, cols]);
      projectRows(a, wt);
      scaleRowsAdd(b, wt, upload(gpu!, s, [rows]), 0.7);
      return { a, b };
    });
    expectClose((await out.a.download()) as Float32Array, projectRowsReference(g, w, rows, cols), 1e-5, 1e-4, 'project');
    expectClose((await out.b.download()) as Float32Array, scaleRowsAddReference(g, w, s, 0.7, rows, cols), 1e-5, 1e-4, 'scale add');
    out.a.dispose();
    out.b.dispose();
  });

  it('JumpReLU d log θ (reconstruction + L0 straight-through window)', async () => {
    const [rows, cols] = [50, 23];
    const next = rng(9);
    const pre = randomArray(next, rows * cols, 0, 0.4);
    const theta = randomArray(next, cols, 0.1, 0.3);
    const dth = randomArray(next, cols);
    const t = scope(() => logThresholdBackward(upload(gpu!, pre, [rows, cols]), upload(gpu!, theta, [cols]), upload(gpu!, dth, [cols]), 0.05, 0.3));
    const got = (await t.download()) as Float32Array;
    t.dispose();
    const want = logThresholdBackwardReference(pre, theta, dth, rows, cols, 0.05, 0.3);
    expect(want.some((v, i) => Math.abs(v - theta[i] * dth[i]) > 1e-6)).toBe(true); // the window is hit
    expectClose(got, want, 1e-5, 1e-4, 'd log θ');
  });

  for (const [batch, k, dSae, dIn] of [[1, 1, 1, 1], [9, 3, 40, 7], [70, 8, 300, 33]] as const) {
    it(`sparse encoder gradient (accumulated twice) for batch ${batch}, k ${k}, W_enc [${dIn}, ${dSae}]`, async () => {
      const next = rng(batch + k + dSae);
      const idx = Uint32Array.from({ length: batch * k }, (_, i) => (Math.floor(i / k) * 13 + (i % k) * 7) % dSae);
      const dvals = randomArray(next, batch * k);
      const dvals2 = randomArray(next, batch * k);
      const xc = randomArray(next, batch * dIn);
      const dW0 = randomArray(next, dIn * dSae);
      const db0 = randomArray(next, dSae);
      const out = scope(() => {
        const dW = upload(gpu!, dW0, [dIn, dSae]);
        const db = upload(gpu!, db0, [dSae]);
        const [i, x] = [upload(gpu!, idx, [batch, k], 'u32'), upload(gpu!, xc, [batch, dIn])];
        sparseEncoderBackward(dW, db, upload(gpu!, dvals, [batch, k]), i, x);
        sparseEncoderBackward(dW, db, upload(gpu!, dvals2, [batch, k]), i, x);
        return { dW, db };
      });
      const once = sparseEncoderBackwardReference(dW0, db0, dvals, idx, xc, batch, k, dSae, dIn);
      const want = sparseEncoderBackwardReference(once.dW, once.db, dvals2, idx, xc, batch, k, dSae, dIn);
      expectClose((await out.dW.download()) as Float32Array, want.dW, 1e-5, 1e-4, 'dW_enc');
      expectClose((await out.db.download()) as Float32Array, want.db, 1e-5, 1e-4, 'db_enc');
      out.dW.dispose();
      out.db.dispose();
    });
  }
});
