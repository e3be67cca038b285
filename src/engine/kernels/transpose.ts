/** Transpose of a [rows, cols] matrix into a new [cols, rows] tensor. */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../kernel.js';
import { empty, expectBindable, expectMatrix, type Tensor } from '../tensor.js';

const WG = 64;
const SPEC: KernelSpec = {
  name: 'transpose',
  wgsl: new URL('./transpose.wgsl', import.meta.url),
  entry: 'transpose',
  workgroup: [WG, 1],
  bindings: [
    { name: 'out', access: 'write', shape: '[cols, rows] f32' },
    { name: 'x', access: 'read', shape: '[rows, cols] f32' },
    { name: 'p', access: 'uniform', shape: 'Params' },
  ],
};

/** xᵀ: [rows, cols] → [cols, rows]. */
export function transpose(x: Tensor): Tensor {
  const [rows, cols] = expectMatrix('transpose', 'x', x);
  expectBindable('transpose', 'x', x);
  const out = empty(x.gpu, [cols, rows]);
  dispatch(x.gpu, SPEC, [{ buffers: [out.buffer, x.buffer], params: packParams([['u32', rows], ['u32', cols]]), groups: linearGroups(x.gpu, rows * cols, WG) }]);
  return out;
}
