/**
 * d log θ of a JumpReLU SAE (jumprelu_l0.wgsl): reconstruction dθ plus the L0 penalty's
 * rectangle-kernel estimate, times θ. Argument order: inputs, then scalars; returns [d_sae].
 */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../../src/engine/kernel.js';
import { empty, expectMatrix, expectShape, type Tensor } from '../../src/engine/index.js';

const WG = 64;

const SPEC: KernelSpec = {
  name: 'sae_log_threshold_backward',
  wgsl: new URL('./jumprelu_l0.wgsl', import.meta.url),
  entry: 'log_threshold_backward',
  workgroup: [WG, 1],
  bindings: [
    { name: 'out', access: 'write', shape: '[d_sae] f32' },
    { name: 'pre', access: 'read', shape: '[batch, d_sae] f32' },
    { name: 'theta', access: 'read', shape: '[d_sae] f32' },
    { name: 'dtheta', access: 'read', shape: '[d_sae] f32' },
    { name: 'p', access: 'uniform', shape: 'Params' },
  ],
};

/** d log θ = θ · (dθ_rec − coef · #window / ε); coef = λ/B, window |pre − θ| < ε/2. */
export function logThresholdBackward(pre: Tensor, theta: Tensor, dThetaRec: Tensor, eps: number, coef: number): Tensor {
  const [rows, cols] = expectMatrix('logThresholdBackward', 'pre', pre);
  expectShape('logThresholdBackward', 'theta', theta, [cols]);
  expectShape('logThresholdBackward', 'dThetaRec', dThetaRec, [cols]);
  const out = empty(pre.gpu, [cols]);
  dispatch(pre.gpu, SPEC, [{ buffers: [out.buffer, pre.buffer, theta.buffer, dThetaRec.buffer], params: packParams([['u32', rows], ['u32', cols], ['f32', eps], ['f32', coef]]), groups: linearGroups(pre.gpu, cols, WG) }]);
  return out;
}

/** Reference of logThresholdBackward. */
export function logThresholdBackwardReference(pre: ArrayLike<number>, theta: ArrayLike<number>, dThetaRec: ArrayLike<number>, rows: number, cols: number, eps: number, coef: number): Float64Array {
  const out = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    let n = 0;
    for (let r = 0; r < rows; r++) if (Math.abs(pre[r * cols + c] - theta[c]) < 0.5 * eps) n++;
    out[c] = theta[c] * (dThetaRec[c] - (coef * n) / eps);
  }
  return out;
}
