/**
 * Decoder-row kernels (decoder.wgsl): remove the gradient component parallel to each decoder
 * row, and add a per-row multiple of the rows to a gradient. Argument order: output (in place),
 * inputs, scalars. References (`*Reference`) beside them.
 */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../../src/engine/kernel.js';
import { empty, expectMatrix, expectShape, type Tensor } from '../../src/engine/index.js';

const WG = 64;

function spec(entry: 'project_rows' | 'scale_rows_add'): KernelSpec {
  return {
    name: `sae_${entry}`,
    wgsl: new URL('./decoder.wgsl', import.meta.url),
    entry,
    workgroup: [WG, 1],
    bindings: [
      { name: 'G', access: 'write', shape: '[d_sae, d_in] f32 (in place)' },
      { name: 'W', access: 'read', shape: '[d_sae, d_in] f32' },
      { name: 's', access: 'read', shape: '[d_sae] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
}

/** grad_i ← grad_i − (grad_i·W_i / ‖W_i‖²) W_i for every row i, in place. */
export function projectRows(grad: Tensor, w: Tensor): void {
  const [rows, cols] = expectMatrix('projectRows', 'W', w);
  expectShape('projectRows', 'grad', grad, [rows, cols]);
  const dummy = empty(w.gpu, [4]);
  dispatch(w.gpu, spec('project_rows'), [{ buffers: [grad.buffer, w.buffer, dummy.buffer], params: packParams([['u32', rows], ['u32', cols], ['f32', 0]]), groups: linearGroups(w.gpu, rows, WG) }]);
  dummy.dispose();
}

/** grad[i, :] += alpha · s[i] · W[i, :], in place; s [d_sae]. */
export function scaleRowsAdd(grad: Tensor, w: Tensor, s: Tensor, alpha: number): void {
  const [rows, cols] = expectMatrix('scaleRowsAdd', 'W', w);
  expectShape('scaleRowsAdd', 'grad', grad, [rows, cols]);
  expectShape('scaleRowsAdd', 's', s, [rows]);
  dispatch(w.gpu, spec('scale_rows_add'), [{ buffers: [grad.buffer, w.buffer, s.buffer], params: packParams([['u32', rows], ['u32', cols], ['f32', alpha]]), groups: linearGroups(w.gpu, rows * cols, WG) }]);
}

/** Reference of projectRows. */
export function projectRowsReference(grad: ArrayLike<number>, w: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = Float64Array.from(grad);
  for (let r = 0; r < rows; r++) {
    let gw = 0;
    let ww = 0;
    for (let c = 0; c < cols; c++) { gw += grad[r * cols + c] * w[r * cols + c]; ww += w[r * cols + c] ** 2; }
    if (ww > 0) for (let c = 0; c < cols; c++) out[r * cols + c] -= (gw / ww) * w[r * cols + c];
  }
  return out;
}

/** Reference of scaleRowsAdd. */
export function scaleRowsAddReference(grad: ArrayLike<number>, w: ArrayLike<number>, s: ArrayLike<number>, alpha: number, rows: number, cols: number): Float64Array {
  const out = Float64Array.from(grad);
  for (let i = 0; i < rows * cols; i++) out[i] += alpha * s[Math.floor(i / cols)] * w[i];
  return out;
}
