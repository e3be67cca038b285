/**
 * Binding splits: every kernel on a device whose storage bindings hold only 16 KiB, so that
 * tensors of a few thousand elements take the split paths that 128 MiB tensors take on lavapipe.
 */
import { describe, expect, it } from 'vitest';
import { adamState, adamStep, batchTopk, binary, bce, jumpreluBackward, jumpreluForward, logSoftmax, mse, normalize, reduce, reluForward, scope, topk, unary, upload, type Tensor } from '../../src/engine/index.js';
import { rowChunks } from '../../src/engine/kernel.js';
import { adamRef, batchTopkRef, bceRef, binaryRef, jumpreluRef, jumpreluThresholdGradRef, mseRef, normalizeRef, reduceRef, softmaxRef, topkRef, unaryRef } from '../../src/engine/reference.js';
import { expectClose, gpuOrSkip, randomArray, rng } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`binding splits on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const small = gpu ? { ...gpu, profile: { ...gpu.profile, maxStorageBindingBytes: 16384, storageOffsetAlignment: 256 } } : gpu!;
  const [rows, cols] = [200, 33]; // 26400 bytes: four blocks of 64 rows
  const next = rng(2024);
  const x = randomArray(next, rows * cols, -2, 2);
  const y = randomArray(next, rows * cols, 0, 1);
  const row = randomArray(next, cols, 0.1, 0.5);
  const down = async (t: Tensor): Promise<Float32Array> => {
    const d = (await t.download()) as Float32Array;
    t.dispose();
    return d;
  };

  it('rowChunks keeps blocks within the limit and aligned', () => {
    const chunks = rowChunks(small, rows, [cols * 4, 4]);
    expect(chunks.length).toBeGreaterThan(1);
    for (const [r0, r1] of chunks) {
      expect((r1 - r0) * cols * 4).toBeLessThanOrEqual(16384);
      expect((r0 * cols * 4) % 256).toBe(0);
      expect((r0 * 4) % 256).toBe(0);
    }
    expect(chunks.at(-1)![1]).toBe(rows);
  });
  it('elementwise', async () => {
    expectClose(await down(scope(() => unary('exp', upload(small, x, [rows, cols])))), unaryRef('exp', x), 1e-6, 1e-5);
    expectClose(await down(scope(() => binary('mul', upload(small, x, [rows, cols]), upload(small, row, [cols])))), binaryRef('mul', x, row, cols), 1e-6, 1e-5);
    expectClose(await down(scope(() => binary('sub', upload(small, x, [rows, cols]), upload(small, y, [rows, cols])))), binaryRef('sub', x, y, cols), 1e-6, 1e-5);
  });
  it('reductions over rows and columns', async () => {
    for (const op of ['sum', 'mean', 'max', 'norm'] as const) {
      for (const axis of ['rows', 'cols'] as const) {
        expectClose(await down(scope(() => reduce(upload(small, x, [rows, cols]), op, axis))), reduceRef(x, rows, cols, op, axis), 1e-5, 1e-4, `${op} ${axis}`);
      }
    }
  });
  it('softmax, top-k, batch top-k', async () => {
    expectClose(await down(scope(() => logSoftmax(upload(small, x, [rows, cols])))), softmaxRef(x, rows, cols, true), 1e-5, 1e-5);
    const t = scope(() => topk(upload(small, x, [rows, cols]), 5));
    expect(Array.from(await t.indices.download())).toEqual(Array.from(topkRef(x, rows, cols, 5).indices));
    t.indices.dispose();
    t.values.dispose();
    const b = scope(() => batchTopk(upload(small, x, [rows, cols]), 3));
    expectClose(await down(b.values), batchTopkRef(x, rows, 3).values, 0, 0);
    b.threshold.dispose();
  });
  it('activations, losses, normalisation, Adam', async () => {
    expectClose(await down(scope(() => reluForward(upload(small, x, [rows, cols])))), x.map((v) => Math.max(v, 0)), 0, 0);
    expectClose(await down(scope(() => jumpreluForward(upload(small, x, [rows, cols]), upload(small, row, [cols])))), jumpreluRef(x, row, cols), 0, 0);
    const g = scope(() => jumpreluBackward(upload(small, y, [rows, cols]), upload(small, x, [rows, cols]), upload(small, row, [cols]), 0.5));
    expectClose(await down(g.dTheta), jumpreluThresholdGradRef(y, x, row, rows, cols, 0.5), 1e-4, 1e-4);
    g.dx.dispose();
    const l = scope(() => mse(upload(small, x, [rows, cols]), upload(small, y, [rows, cols]), { grad: true }));
    expectClose(await down(l.loss), [mseRef(x, y)], 1e-6, 1e-4);
    expectClose(await down(l.grad!), x.map((v, i) => (2 * (v - y[i])) / x.length), 1e-7, 1e-4);
    const b = scope(() => bce(upload(small, x, [rows * cols]), upload(small, y, [rows * cols])));
    expectClose(await down(b.loss), [bceRef(x, y)], 1e-6, 1e-4);
    const w = upload(small, x, [rows, cols]);
    const norms = normalize(w, 'rows');
    expectClose(await down(w), normalizeRef(x, rows, cols, 'rows').x, 1e-6, 1e-5);
    norms.dispose();
    const p = upload(small, x, [rows * cols]);
    const state = adamState(p);
    const grad = upload(small, y, [rows * cols]);
    adamStep(p, grad, state, { lr: 0.01 });
    const ref = adamRef(x, y, new Float64Array(x.length), new Float64Array(x.length), 1, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: true });
    expectClose(await down(p), ref.param, 1e-6, 1e-5);
    for (const t of [grad, state.m, state.v]) t.dispose();
  });
});
