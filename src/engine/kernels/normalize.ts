/**
 * Unit-L2-norm rows or columns of a [rows, cols] matrix, in place (e.g. SAE decoder rows
 * [d_sae, d_in] after each step). Returns the norms it divided by.
 */
import { UsageError } from '../../errors.js';
import { bindRowRange, dispatch, linearGroups, packParams, rowChunks, type KernelSpec } from '../kernel.js';
import { empty, expectMatrix, type Tensor } from '../tensor.js';

const WG = 64;

/** Normalises rows ('rows': each of the [rows] vectors) or columns ('cols') of `x` in place. */
export function normalize(x: Tensor, axis: 'rows' | 'cols', eps = 1e-12): Tensor {
  const [rows, cols] = expectMatrix(`normalize ${axis}`, 'x', x);
  const entry = `normalize_${axis}`;
  const spec: KernelSpec = {
    name: entry,
    wgsl: new URL('./normalize.wgsl', import.meta.url),
    entry,
    workgroup: [WG, 1],
    bindings: [
      { name: 'x', access: 'write', shape: '[rows, cols] f32 (in place)' },
      { name: 'norms', access: 'write', shape: '[rows] or [cols] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
  const count = axis === 'rows' ? rows : cols;
  const norms = empty(x.gpu, [count]);
  const chunks = rowChunks(x.gpu, rows, [cols * 4, 4]);
  if (axis === 'cols' && chunks.length > 1) {
    norms.dispose();
    throw new UsageError(`normalize cols: x ${x.describe()} is larger than one storage binding (${x.gpu.profile.maxStorageBindingBytes} bytes)`, 'normalise the rows of the transpose instead, or split x by columns');
  }
  const runs = chunks.map(([r0, r1]) => ({
    buffers: axis === 'rows' ? [bindRowRange(x.buffer, cols * 4, r0, r1), bindRowRange(norms.buffer, 4, r0, r1)] : [x.buffer, norms.buffer],
    params: packParams([['u32', r1 - r0], ['u32', cols], ['f32', eps]]),
    groups: linearGroups(x.gpu, axis === 'rows' ? r1 - r0 : cols, WG),
  }));
  dispatch(x.gpu, spec, runs);
  return norms;
}
