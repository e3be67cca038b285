import { describe, expect, it } from 'vitest';
import { binary } from '../../src/engine/kernels/elementwise.js';
import { keep, liveTensorBytes, scope, upload, zeros } from '../../src/engine/tensor.js';
import { gpuOrSkip } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

describe.skipIf(!gpu)(`tensors on WebGPU${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('round-trips f32, u32 and i32 data', async () => {
    const f = upload(gpu!, [1.5, -2, 3], [3]);
    const u = upload(gpu!, [1, 2, 4294967295], [3], 'u32');
    const i = upload(gpu!, [-1, 0, 7], [3], 'i32');
    expect(Array.from(await f.download())).toEqual([1.5, -2, 3]);
    expect(Array.from(await u.download())).toEqual([1, 2, 4294967295]);
    expect(Array.from(await i.download())).toEqual([-1, 0, 7]);
    for (const t of [f, u, i]) t.dispose();
  });
  it('zeros are zero even when the pooled buffer held data', async () => {
    upload(gpu!, [9, 9, 9, 9], [4]).dispose();
    const z = zeros(gpu!, [4]);
    expect(Array.from(await z.download())).toEqual([0, 0, 0, 0]);
    z.dispose();
  });
  it('scope disposes temporaries and keeps what it returns', () => {
    const before = liveTensorBytes(gpu!);
    const { sum } = scope(() => {
      const a = upload(gpu!, [1, 2], [2]);
      const b = upload(gpu!, [3, 4], [2]);
      return { sum: binary('add', a, b) };
    });
    expect(liveTensorBytes(gpu!)).toBe(before + 16);
    sum.dispose();
    expect(liveTensorBytes(gpu!)).toBe(before);
  });
  it('keep() moves a tensor out of the scope', () => {
    const kept = scope(() => {
      const t = keep(upload(gpu!, [1], [1]));
      upload(gpu!, [2], [1]);
      return 5;
    });
    expect(kept).toBe(5);
  });
  it('use after dispose names the tensor and the fix', () => {
    const t = upload(gpu!, [1, 2], [1, 2]);
    t.dispose();
    expect(() => t.buffer).toThrow(/\[1, 2\] f32 tensor was used after dispose\(\)/);
  });
  it('upload checks the data length against the shape', () => {
    expect(() => upload(gpu!, [1, 2, 3], [2, 2])).toThrow(/expected 4 values, received 3/);
  });
  it('a loop of scoped steps reuses buffers: live bytes stay flat', () => {
    const before = liveTensorBytes(gpu!);
    for (let i = 0; i < 2000; i++) {
      scope(() => {
        binary('mul', upload(gpu!, [i, 1], [2]), upload(gpu!, [2, 2], [2]));
      });
    }
    expect(liveTensorBytes(gpu!)).toBe(before);
  });
});
