/**
 * Row and column reductions of a [rows, cols] matrix: sum, mean, max and L2 norm.
 * `reduce(x, op, 'rows')` reduces along each row (out [rows]); 'cols' down each column (out [cols]).
 */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../kernel.js';
import { empty, expectMatrix, type Tensor } from '../tensor.js';
import type { Gpu } from '../device.js';

export const REDUCE_OPS = ['sum', 'mean', 'max', 'norm'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];
/** Which axis disappears: 'rows' reduces each row to one value, 'cols' each column. */
export type ReduceAxis = 'rows' | 'cols';

const WG = 64;

function spec(axis: ReduceAxis, op: ReduceOp): KernelSpec {
  return {
    name: `reduce_${axis}`,
    wgsl: new URL('./reduce.wgsl', import.meta.url),
    entry: `reduce_${axis}`,
    workgroup: [WG, 1],
    bindings: [
      { name: 'out', access: 'write', shape: '[rows] or [cols] f32' },
      { name: 'x', access: 'read', shape: '[rows, cols] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
    constants: { OP: REDUCE_OPS.indexOf(op) },
  };
}

/** Reduces the buffer of a [rows, cols] matrix into `out` (used by losses on flat tensors too). */
export function reduceInto(gpu: Gpu, out: GPUBuffer, x: GPUBuffer, rows: number, cols: number, op: ReduceOp, axis: ReduceAxis): void {
  const outputs = axis === 'rows' ? rows : cols;
  dispatch(gpu, spec(axis, op), [{ buffers: [out, x], params: packParams([['u32', rows], ['u32', cols]]), groups: linearGroups(gpu, outputs, WG) }]);
}

/** Reduces a [rows, cols] matrix along `axis`; returns [rows] for 'rows', [cols] for 'cols'. */
export function reduce(x: Tensor, op: ReduceOp, axis: ReduceAxis = 'rows'): Tensor {
  const [rows, cols] = expectMatrix(`reduce ${op}`, 'x', x);
  const out = empty(x.gpu, [axis === 'rows' ? rows : cols]);
  reduceInto(x.gpu, out.buffer, x.buffer, rows, cols, op, axis);
  return out;
}
