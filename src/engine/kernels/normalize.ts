/**
 * Unit-L2-norm rows or columns of a [rows, cols] matrix, in place (e.g. SAE decoder rows
 * [d_sae, d_in] after each step). Returns the norms it divided by.
 */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../kernel.js';
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
  dispatch(x.gpu, spec, [{ buffers: [x.buffer, norms.buffer], params: packParams([['u32', rows], ['u32', cols], ['f32', eps]]), groups: linearGroups(x.gpu, count, WG) }]);
  return norms;
}
