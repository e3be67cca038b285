/**
 * Row-wise top-k ([rows, cols] → values and indices [rows, k], sorted descending) and batch-wide
 * top-k (keep the k·rows largest entries of the whole batch, the BatchTopK SAE activation).
 */
import { UsageError } from '../../errors.js';
import { dispatch, linearGroups, packParams, type KernelSpec } from '../kernel.js';
import { empty, expectMatrix, type Tensor } from '../tensor.js';

const WG = 64;

/** Result of row-wise top-k. */
export interface TopK {
  /** [rows, k] f32: the k largest values of each row, descending (ties: lower index first). */
  readonly values: Tensor;
  /** [rows, k] u32: their column indices. */
  readonly indices: Tensor;
}

/** The k largest entries of each row of x [rows, cols]; 1 ≤ k ≤ cols. */
export function topk(x: Tensor, k: number): TopK {
  const [rows, cols] = expectMatrix('topk', 'x', x);
  if (!Number.isInteger(k) || k < 1 || k > cols) throw new UsageError(`topk: k must be an integer in [1, ${cols}] (the row length), received ${k}`, 'pass a k no larger than the number of columns');
  const values = empty(x.gpu, [rows, k]);
  const indices = empty(x.gpu, [rows, k], 'u32');
  const spec: KernelSpec = {
    name: 'topk_rows',
    wgsl: new URL('./topk.wgsl', import.meta.url),
    entry: 'topk_rows',
    workgroup: [WG, 1],
    bindings: [
      { name: 'values', access: 'write', shape: '[rows, k] f32' },
      { name: 'indices', access: 'write', shape: '[rows, k] u32' },
      { name: 'x', access: 'read', shape: '[rows, cols] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
  dispatch(x.gpu, spec, [{ buffers: [values.buffer, indices.buffer, x.buffer], params: packParams([['u32', rows], ['u32', cols], ['u32', k]]), groups: linearGroups(x.gpu, rows, WG) }]);
  return { values, indices };
}

/** Result of batch-wide top-k. */
export interface BatchTopK {
  /** [rows, cols]: x where it is among the k·rows largest of the batch, else 0. */
  readonly values: Tensor;
  /** [1]: the (k·rows)-th largest value, the threshold applied (BatchTopK keeps it for inference). */
  readonly threshold: Tensor;
}

function batchSpec(entry: string, workgroup: [number, number]): KernelSpec {
  return {
    name: entry,
    wgsl: new URL('./batch_topk.wgsl', import.meta.url),
    entry,
    workgroup,
    bindings: [
      { name: 'out', access: 'write', shape: '[rows, cols] or [1] f32' },
      { name: 'state', access: 'write', shape: '[260] u32 radix state' },
      { name: 'x', access: 'read', shape: '[rows, cols] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
}

/**
 * Keeps the k·rows largest entries of x [rows, cols] (k per row on average, Bussmann et al.
 * 2024); entries tied with the threshold are all kept.
 */
export function batchTopk(x: Tensor, k: number): BatchTopK {
  const [rows, cols] = expectMatrix('batchTopk', 'x', x);
  if (!Number.isInteger(k) || k < 1 || k > cols) throw new UsageError(`batchTopk: k must be an integer in [1, ${cols}], received ${k}`, 'pass a k no larger than the number of columns');
  const gpu = x.gpu;
  const count = rows * cols;
  const state = empty(gpu, [260], 'u32');
  state.write(new Uint32Array(260).fill(0).map((_, i) => (i === 2 ? Math.min(k * rows, count) : 0)));
  const values = empty(gpu, [rows, cols]);
  const threshold = empty(gpu, [1]);
  const histGroups = linearGroups(gpu, Math.ceil(count / 64), WG);
  for (const shift of [24, 16, 8, 0]) {
    const params = packParams([['u32', count], ['u32', k * rows], ['u32', shift]]);
    dispatch(gpu, batchSpec('batch_histogram', [WG, 1]), [{ buffers: [values.buffer, state.buffer, x.buffer], params, groups: histGroups }]);
    dispatch(gpu, batchSpec('batch_select', [1, 1]), [{ buffers: [values.buffer, state.buffer, x.buffer], params, groups: [1, 1] }]);
  }
  const params = packParams([['u32', count], ['u32', k * rows], ['u32', 0]]);
  dispatch(gpu, batchSpec('batch_apply', [WG, 1]), [{ buffers: [values.buffer, state.buffer, x.buffer], params, groups: linearGroups(gpu, count, WG) }]);
  dispatch(gpu, batchSpec('batch_threshold', [1, 1]), [{ buffers: [threshold.buffer, state.buffer, x.buffer], params, groups: [1, 1] }]);
  state.dispose();
  return { values, threshold };
}
