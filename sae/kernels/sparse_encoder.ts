/**
 * Encoder gradient of a sparse SAE step (sparse_encoder.wgsl): dW_enc [d_in, d_sae] and
 * db_enc [d_sae] accumulated from the selected (token, latent) pairs only. Argument order:
 * outputs (accumulated into), then inputs. Reference: sparseEncoderBackwardReference.
 */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../../src/engine/kernel.js';
import { expectMatrix, expectShape, zeros, type Tensor } from '../../src/engine/index.js';
import { BUCKETS_WGSL } from '../../src/engine/kernels/gather_decode.js';

const WG = 64;
type Entry = 'count_rows' | 'scan_counts' | 'fill_rows' | 'sort_rows' | 'scatter_encoder';

function spec(entry: Entry): KernelSpec {
  return {
    name: `sae_${entry}`,
    wgsl: [new URL('./sparse_encoder.wgsl', import.meta.url), BUCKETS_WGSL],
    entry,
    workgroup: entry === 'scan_counts' ? [1, 1] : [WG, 1],
    bindings: [
      { name: 'dW', access: 'write', shape: '[d_in, d_sae] f32 (accumulated into)' },
      { name: 'db', access: 'write', shape: '[d_sae] f32 (accumulated into)' },
      { name: 'buckets', access: 'write', shape: '[3·d_sae + 1 + batch·k] u32' },
      { name: 'dvals', access: 'read', shape: '[batch, k] f32' },
      { name: 'idx', access: 'read', shape: '[batch, k] u32' },
      { name: 'xc', access: 'read', shape: '[batch, d_in] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
}

/** dW[c, idx[b, j]] += dvals[b, j] · xc[b, c]; db[idx[b, j]] += dvals[b, j]. */
export function sparseEncoderBackward(dW: Tensor, db: Tensor, dvals: Tensor, idx: Tensor, xc: Tensor): void {
  const [batch, k] = expectMatrix('sparseEncoderBackward', 'dvals', dvals);
  expectShape('sparseEncoderBackward', 'idx', idx, [batch, k], 'u32');
  const [, dIn] = expectMatrix('sparseEncoderBackward', 'xc', xc);
  expectShape('sparseEncoderBackward', 'xc', xc, [batch, dIn]);
  const [, dSae] = expectMatrix('sparseEncoderBackward', 'dW', dW);
  expectShape('sparseEncoderBackward', 'dW', dW, [dIn, dSae]);
  expectShape('sparseEncoderBackward', 'db', db, [dSae]);
  const gpu = dW.gpu;
  const n = batch * k;
  const buckets = zeros(gpu, [3 * dSae + 1 + n], 'u32');
  const params = packParams([['u32', batch], ['u32', k], ['u32', dSae], ['u32', dIn]]);
  const buffers = [dW.buffer, db.buffer, buckets.buffer, dvals.buffer, idx.buffer, xc.buffer];
  dispatch(gpu, spec('count_rows'), [{ buffers, params, groups: linearGroups(gpu, n, WG) }]);
  dispatch(gpu, spec('scan_counts'), [{ buffers, params, groups: [1, 1] }]);
  dispatch(gpu, spec('fill_rows'), [{ buffers, params, groups: linearGroups(gpu, n, WG) }]);
  dispatch(gpu, spec('sort_rows'), [{ buffers, params, groups: linearGroups(gpu, dSae, WG) }]);
  dispatch(gpu, spec('scatter_encoder'), [{ buffers, params, groups: linearGroups(gpu, dSae * dIn, WG) }]);
  buckets.dispose();
}

/** Reference of sparseEncoderBackward (into copies of dW and db). */
export function sparseEncoderBackwardReference(dW: ArrayLike<number>, db: ArrayLike<number>, dvals: ArrayLike<number>, idx: ArrayLike<number>, xc: ArrayLike<number>, batch: number, k: number, dSae: number, dIn: number): { dW: Float64Array; db: Float64Array } {
  const outW = Float64Array.from(dW);
  const outB = Float64Array.from(db);
  for (let b = 0; b < batch; b++) for (let j = 0; j < k; j++) {
    const r = idx[b * k + j];
    if (r >= dSae) continue;
    const v = dvals[b * k + j];
    outB[r] += v;
    for (let c = 0; c < dIn; c++) outW[c * dSae + r] += v * xc[b * dIn + c];
  }
  return { dW: outW, db: outB };
}
