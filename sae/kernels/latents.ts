/**
 * Latent bookkeeping kernels (latents.wgsl): firing counts from dense or top-k activations, and
 * the scatter of top-k values into a dense [batch, d_sae] matrix. Argument order: outputs, inputs.
 * Plain TypeScript references of each live beside them (`*Reference`), as STYLE point 6 asks.
 */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../../src/engine/kernel.js';
import { empty, expectMatrix, expectShape, type Tensor } from '../../src/engine/index.js';

const WG = 64;
type Entry = 'count_dense' | 'count_sparse' | 'count_rows' | 'scatter_dense';

function spec(entry: Entry): KernelSpec {
  return {
    name: `sae_${entry}`,
    wgsl: new URL('./latents.wgsl', import.meta.url),
    entry,
    workgroup: [WG, 1],
    bindings: [
      { name: 'counts', access: 'write', shape: '[d_sae] or [batch] u32 (accumulated into)' },
      { name: 'dense', access: 'write', shape: '[batch, d_sae] f32 (accumulated into)' },
      { name: 'vals', access: 'read', shape: '[batch, d_sae] or [batch, k] f32' },
      { name: 'idx', access: 'read', shape: '[batch, k] u32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
}

/** counts[c] += number of rows where f[r, c] > 0; f [batch, d_sae], counts [d_sae] u32. */
export function countDense(counts: Tensor, f: Tensor): void {
  const [rows, cols] = expectMatrix('countDense', 'f', f);
  expectShape('countDense', 'counts', counts, [cols], 'u32');
  const dense = empty(f.gpu, [4]);
  const idx = empty(f.gpu, [4], 'u32');
  dispatch(f.gpu, spec('count_dense'), [{ buffers: [counts.buffer, dense.buffer, f.buffer, idx.buffer], params: packParams([['u32', rows], ['u32', cols], ['u32', 0]]), groups: linearGroups(f.gpu, rows * cols, WG) }]);
  dense.dispose();
  idx.dispose();
}

/** counts[r] += number of columns where f[r, c] > 0; f [batch, d_sae], counts [batch] u32. */
export function countRows(counts: Tensor, f: Tensor): void {
  const [rows, cols] = expectMatrix('countRows', 'f', f);
  expectShape('countRows', 'counts', counts, [rows], 'u32');
  const dense = empty(f.gpu, [4]);
  const idx = empty(f.gpu, [4], 'u32');
  dispatch(f.gpu, spec('count_rows'), [{ buffers: [counts.buffer, dense.buffer, f.buffer, idx.buffer], params: packParams([['u32', rows], ['u32', cols], ['u32', 0]]), groups: linearGroups(f.gpu, rows, WG) }]);
  dense.dispose();
  idx.dispose();
}

/** Reference of countRows. */
export function countRowsReference(f: ArrayLike<number>, rows: number, cols: number): Uint32Array {
  const out = new Uint32Array(rows);
  for (let i = 0; i < rows * cols; i++) if (f[i] > 0) out[Math.floor(i / cols)]++;
  return out;
}

/** counts[idx[r, j]] += 1 where vals[r, j] > 0; vals, idx [batch, k], counts [d_sae] u32. */
export function countSparse(counts: Tensor, vals: Tensor, idx: Tensor): void {
  const [rows, k] = expectMatrix('countSparse', 'vals', vals);
  expectShape('countSparse', 'idx', idx, [rows, k], 'u32');
  const [cols] = counts.shape;
  expectShape('countSparse', 'counts', counts, [cols], 'u32');
  const dense = empty(vals.gpu, [4]);
  dispatch(vals.gpu, spec('count_sparse'), [{ buffers: [counts.buffer, dense.buffer, vals.buffer, idx.buffer], params: packParams([['u32', rows], ['u32', cols], ['u32', k]]), groups: linearGroups(vals.gpu, rows * k, WG) }]);
  dense.dispose();
}

/** dense[r, idx[r, j]] += vals[r, j]; dense [batch, d_sae] in place, vals and idx [batch, k]. */
export function scatterDense(dense: Tensor, vals: Tensor, idx: Tensor): void {
  const [rows, cols] = expectMatrix('scatterDense', 'dense', dense);
  const [, k] = expectMatrix('scatterDense', 'vals', vals);
  expectShape('scatterDense', 'vals', vals, [rows, k]);
  expectShape('scatterDense', 'idx', idx, [rows, k], 'u32');
  const counts = empty(dense.gpu, [4], 'u32');
  dispatch(dense.gpu, spec('scatter_dense'), [{ buffers: [counts.buffer, dense.buffer, vals.buffer, idx.buffer], params: packParams([['u32', rows], ['u32', cols], ['u32', k]]), groups: linearGroups(dense.gpu, rows, WG) }]);
  counts.dispose();
}

/** Reference of countDense (returns the counts of one call). */
export function countDenseReference(f: ArrayLike<number>, rows: number, cols: number): Uint32Array {
  const out = new Uint32Array(cols);
  for (let i = 0; i < rows * cols; i++) if (f[i] > 0) out[i % cols]++;
  return out;
}

/** Reference of countSparse. */
export function countSparseReference(vals: ArrayLike<number>, idx: ArrayLike<number>, cols: number): Uint32Array {
  const out = new Uint32Array(cols);
  for (let i = 0; i < vals.length; i++) if (vals[i] > 0 && idx[i] < cols) out[idx[i]]++;
  return out;
}

/** Reference of scatterDense (into a copy of `dense`). */
export function scatterDenseReference(dense: ArrayLike<number>, vals: ArrayLike<number>, idx: ArrayLike<number>, rows: number, cols: number, k: number): Float64Array {
  const out = Float64Array.from(dense);
  for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) if (idx[r * k + j] < cols) out[r * cols + idx[r * k + j]] += vals[r * k + j];
  return out;
}
