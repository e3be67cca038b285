/**
 * Sparse decode of a TopK SAE and its backward (see gather_decode.wgsl for the equations).
 * Vocabulary: vals, idx [batch, k] (idx u32 into the d_sae rows of W), W [d_sae, d_in],
 * y and dy [batch, d_in]. The backward touches only the rows of dW that idx selects.
 */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../kernel.js';
import { empty, expectBindable, expectBindableBytes, expectMatrix, expectShape, zeros, type Tensor } from '../tensor.js';

const WG = 64;

/** The row bucketing both sparse gradients use (count, scan, fill, sort); appended to their kernels. */
export const BUCKETS_WGSL = new URL('./buckets.wgsl', import.meta.url);

function spec(entry: string, workgroup: [number, number] = [WG, 1]): KernelSpec {
  return {
    name: entry,
    wgsl: [new URL('./gather_decode.wgsl', import.meta.url), BUCKETS_WGSL],
    entry,
    workgroup,
    bindings: [
      { name: 'out', access: 'write', shape: 'y [batch, d_in], dvals [batch, k] or dW [d_sae, d_in] f32' },
      { name: 'buckets', access: 'write', shape: '[3·d_sae + 1 + batch·k] u32' },
      { name: 'vals', access: 'read', shape: '[batch, k] f32' },
      { name: 'idx', access: 'read', shape: '[batch, k] u32' },
      { name: 'W', access: 'read', shape: '[d_sae, d_in] f32' },
      { name: 'dy', access: 'read', shape: '[batch, d_in] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
}

function sizes(op: string, vals: Tensor, idx: Tensor, w: Tensor): { batch: number; k: number; dSae: number; dIn: number } {
  const [batch, k] = expectMatrix(op, 'vals', vals);
  expectShape(op, 'idx', idx, [batch, k], 'u32');
  const [dSae, dIn] = expectMatrix(op, 'W', w);
  expectBindable(op, 'W', w);
  expectBindableBytes(w.gpu, op, `y / dy [${batch}, ${dIn}] f32`, batch * dIn * 4);
  return { batch, k, dSae, dIn };
}

/** y[b, :] = Σ_j vals[b, j] · W[idx[b, j], :]. Returns y [batch, d_in]. */
export function gatherDecode(vals: Tensor, idx: Tensor, w: Tensor): Tensor {
  const { batch, k, dSae, dIn } = sizes('gatherDecode', vals, idx, w);
  const y = empty(w.gpu, [batch, dIn]);
  const params = packParams([['u32', batch], ['u32', k], ['u32', dSae], ['u32', dIn]]);
  const unused = empty(w.gpu, [4], 'u32'); // `buckets` is unused by decode but must be bound
  dispatch(w.gpu, spec('decode'), [{ buffers: [y.buffer, unused.buffer, vals.buffer, idx.buffer, w.buffer, vals.buffer], params, groups: linearGroups(w.gpu, batch * dIn, WG) }]);
  unused.dispose();
  return y;
}

/** Gradients of gatherDecode. */
export interface GatherDecodeGrads {
  /** [batch, k]: ∂L/∂vals. */
  readonly dVals: Tensor;
  /** [d_sae, d_in]: `dW` if given (accumulated into), else a new zero-initialised tensor; only selected rows change. */
  readonly dW: Tensor;
}

/**
 * Backward of gatherDecode: dvals, and the scatter-add of vals ⊗ dy into the selected rows of
 * dW. Pass `dW` to accumulate into an existing gradient (untouched rows keep their values).
 */
export function gatherDecodeBackward(dy: Tensor, vals: Tensor, idx: Tensor, w: Tensor, dW?: Tensor): GatherDecodeGrads {
  const { batch, k, dSae, dIn } = sizes('gatherDecodeBackward', vals, idx, w);
  expectShape('gatherDecodeBackward', 'dy', dy, [batch, dIn]);
  if (dW) expectShape('gatherDecodeBackward', 'dW', dW, [dSae, dIn]);
  const gpu = w.gpu;
  const params = packParams([['u32', batch], ['u32', k], ['u32', dSae], ['u32', dIn]]);
  const n = batch * k;
  const dVals = empty(gpu, [batch, k]);
  const grad = dW ?? zeros(gpu, [dSae, dIn]);
  const buckets = zeros(gpu, [3 * dSae + 1 + n], 'u32');
  const bind = (out: Tensor) => [out.buffer, buckets.buffer, vals.buffer, idx.buffer, w.buffer, dy.buffer];
  dispatch(gpu, spec('decode_backward_values'), [{ buffers: bind(dVals), params, groups: linearGroups(gpu, n, WG) }]);
  dispatch(gpu, spec('count_rows'), [{ buffers: bind(grad), params, groups: linearGroups(gpu, n, WG) }]);
  dispatch(gpu, spec('scan_counts', [1, 1]), [{ buffers: bind(grad), params, groups: [1, 1] }]);
  dispatch(gpu, spec('fill_rows'), [{ buffers: bind(grad), params, groups: linearGroups(gpu, n, WG) }]);
  dispatch(gpu, spec('sort_rows'), [{ buffers: bind(grad), params, groups: linearGroups(gpu, dSae, WG) }]);
  dispatch(gpu, spec('scatter_rows'), [{ buffers: bind(grad), params, groups: linearGroups(gpu, dSae * dIn, WG) }]);
  buckets.dispose();
  return { dVals, dW: grad };
}
