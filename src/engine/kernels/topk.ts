/**
 * Row-wise top-k ([rows, cols] → values and indices [rows, k], sorted descending) and batch-wide
 * top-k (keep the k·rows largest entries of the whole batch, the BatchTopK SAE activation).
 */
import { UsageError } from '../../errors.js';
import { bindRowRange, dispatch, linearGroups, packParams, rowChunks, type KernelSpec } from '../kernel.js';
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
  const runs = rowChunks(x.gpu, rows, [cols * 4, k * 4]).map(([r0, r1]) => ({
    buffers: [bindRowRange(values.buffer, k * 4, r0, r1), bindRowRange(indices.buffer, k * 4, r0, r1), bindRowRange(x.buffer, cols * 4, r0, r1)],
    params: packParams([['u32', r1 - r0], ['u32', cols], ['u32', k]]),
    groups: linearGroups(x.gpu, r1 - r0, WG),
  }));
  dispatch(x.gpu, spec, runs);
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
  // Element ranges that fit the storage binding limit; the histogram accumulates over them.
  const chunks = rowChunks(gpu, count, [4]);
  const first = bindRowRange(values.buffer, 4, chunks[0][0], chunks[0][1]);
  for (const shift of [24, 16, 8, 0]) {
    const runs = chunks.map(([e0, e1]) => ({
      buffers: [bindRowRange(values.buffer, 4, e0, e1), state.buffer, bindRowRange(x.buffer, 4, e0, e1)],
      params: packParams([['u32', e1 - e0], ['u32', k * rows], ['u32', shift]]),
      groups: linearGroups(gpu, Math.ceil((e1 - e0) / 64), WG),
    }));
    dispatch(gpu, batchSpec('batch_histogram', [WG, 1]), runs);
    dispatch(gpu, batchSpec('batch_select', [1, 1]), [{ buffers: [first, state.buffer, bindRowRange(x.buffer, 4, chunks[0][0], chunks[0][1])], params: packParams([['u32', 0], ['u32', k * rows], ['u32', shift]]), groups: [1, 1] }]);
  }
  const applyRuns = chunks.map(([e0, e1]) => ({
    buffers: [bindRowRange(values.buffer, 4, e0, e1), state.buffer, bindRowRange(x.buffer, 4, e0, e1)],
    params: packParams([['u32', e1 - e0], ['u32', k * rows], ['u32', 0]]),
    groups: linearGroups(gpu, e1 - e0, WG),
  }));
  dispatch(gpu, batchSpec('batch_apply', [WG, 1]), applyRuns);
  const params = packParams([['u32', count], ['u32', k * rows], ['u32', 0]]);
  dispatch(gpu, batchSpec('batch_threshold', [1, 1]), [{ buffers: [threshold.buffer, state.buffer, first], params, groups: [1, 1] }]);
  state.dispose();
  return { values, threshold };
}
