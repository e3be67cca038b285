/**
 * Row and column reductions of a [rows, cols] matrix: sum, mean, max and L2 norm.
 * `reduce(x, op, 'rows')` reduces along each row (out [rows]); 'cols' down each column (out [cols]).
 */
import { bindRowRange, dispatch, linearGroups, packParams, rowChunks, type KernelSpec } from '../kernel.js';
import { empty, expectMatrix, type Tensor } from '../tensor.js';
import type { Gpu } from '../device.js';

export const REDUCE_OPS = ['sum', 'mean', 'max', 'norm'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];
/** Which axis disappears: 'rows' reduces each row to one value, 'cols' each column. */
export type ReduceAxis = 'rows' | 'cols';

const WG = 64;

function spec(axis: ReduceAxis, op: ReduceOp, accumulate = false, finish = true): KernelSpec {
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
    constants: { OP: REDUCE_OPS.indexOf(op), ACCUMULATE: +accumulate, FINISH: +finish },
  };
}

/** Reduces the buffer of a [rows, cols] matrix into `out` (used by losses on flat tensors too). */
export function reduceInto(gpu: Gpu, out: GPUBuffer, x: GPUBuffer, rows: number, cols: number, op: ReduceOp, axis: ReduceAxis): void {
  // Blocks of rows that fit the storage binding limit; a column reduction carries its raw value
  // from block to block and finishes (mean, norm) in the last.
  const chunks = rowChunks(gpu, rows, [cols * 4, 4]);
  chunks.forEach(([r0, r1], i) => {
    const last = i === chunks.length - 1;
    const params = packParams([['u32', r1 - r0], ['u32', cols], ['u32', axis === 'rows' ? cols : rows]]);
    const x1 = bindRowRange(x, cols * 4, r0, r1);
    if (axis === 'rows') dispatch(gpu, spec(axis, op), [{ buffers: [bindRowRange(out, 4, r0, r1), x1], params, groups: linearGroups(gpu, r1 - r0, WG) }]);
    else dispatch(gpu, spec(axis, op, i > 0, last), [{ buffers: [out, x1], params, groups: linearGroups(gpu, cols, WG) }]);
  });
}

/** Reduces a [rows, cols] matrix along `axis`; returns [rows] for 'rows', [cols] for 'cols'. */
export function reduce(x: Tensor, op: ReduceOp, axis: ReduceAxis = 'rows'): Tensor {
  const [rows, cols] = expectMatrix(`reduce ${op}`, 'x', x);
  const out = empty(x.gpu, [axis === 'rows' ? rows : cols]);
  reduceInto(x.gpu, out.buffer, x.buffer, rows, cols, op, axis);
  return out;
}
