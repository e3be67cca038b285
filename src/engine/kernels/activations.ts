/**
 * ReLU and JumpReLU forward and backward on [rows, cols] (rows: batch, cols: latents).
 * Backward passes take (dy, x): x, the forward input, is what they save.
 */
import { bindRowRange, dispatch, linearGroups, packParams, rowChunks, type KernelSpec } from '../kernel.js';
import { empty, expectMatrix, expectShape, type Tensor } from '../tensor.js';

const WG = 64;
type Entry = 'relu_forward' | 'relu_backward' | 'jumprelu_forward' | 'jumprelu_backward_input' | 'jumprelu_backward_threshold';

function spec(entry: Entry, accumulate = false): KernelSpec {
  return {
    name: entry,
    constants: { ACCUMULATE: +accumulate },
    wgsl: new URL('./activations.wgsl', import.meta.url),
    entry,
    workgroup: [WG, 1],
    bindings: [
      { name: 'out', access: 'write', shape: '[rows, cols] f32 (dθ: [cols])' },
      { name: 'x', access: 'read', shape: '[rows, cols] f32' },
      { name: 'dy', access: 'read', shape: '[rows, cols] f32' },
      { name: 'theta', access: 'read', shape: '[cols] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
}

function run(entry: Entry, out: Tensor, x: Tensor, dy: Tensor | undefined, theta: Tensor | undefined, eps = 0): Tensor {
  const [rows, cols] = [x.shape[0], x.shape[1]];
  const threshold = entry === 'jumprelu_backward_threshold';
  const rowBytes = cols * 4;
  // Blocks of rows that fit the storage binding limit; dθ sums over the blocks.
  const chunks = rowChunks(x.gpu, rows, [rowBytes]);
  chunks.forEach(([r0, r1], i) => {
    const params = packParams([['u32', r1 - r0], ['u32', cols], ['f32', eps]]);
    const bind = (t: Tensor) => bindRowRange(t.buffer, rowBytes, r0, r1);
    const buffers = [threshold ? out.buffer : bind(out), bind(x), bind(dy ?? x), (theta ?? x).buffer];
    if (!theta) buffers[3] = bind(x);
    dispatch(x.gpu, spec(entry, threshold && i > 0), [{ buffers, params, groups: linearGroups(x.gpu, threshold ? cols : (r1 - r0) * cols, WG) }]);
  });
  return out;
}

/** y = max(x, 0). */
export function reluForward(x: Tensor): Tensor {
  const [rows, cols] = expectMatrix('relu', 'x', x);
  return run('relu_forward', empty(x.gpu, [rows, cols]), x, undefined, undefined);
}

/** dx = dy · [x > 0]. */
export function reluBackward(dy: Tensor, x: Tensor): Tensor {
  const [rows, cols] = expectMatrix('reluBackward', 'x', x);
  expectShape('reluBackward', 'dy', dy, [rows, cols]);
  return run('relu_backward', empty(x.gpu, [rows, cols]), x, dy, undefined);
}

/** y = x · H(x − θ), θ [cols] one threshold per latent. */
export function jumpreluForward(x: Tensor, theta: Tensor): Tensor {
  const [rows, cols] = expectMatrix('jumprelu', 'x', x);
  expectShape('jumprelu', 'theta', theta, [cols]);
  return run('jumprelu_forward', empty(x.gpu, [rows, cols]), x, undefined, theta);
}

/** Gradients of JumpReLU. */
export interface JumpReluGrads {
  /** [rows, cols]: dy · H(x − θ). */
  readonly dx: Tensor;
  /** [cols]: the straight-through threshold gradient (see activations.wgsl). */
  readonly dTheta: Tensor;
}

/** Backward of JumpReLU; `eps` is the rectangle-kernel bandwidth (SAELens default 1e-3). */
export function jumpreluBackward(dy: Tensor, x: Tensor, theta: Tensor, eps = 1e-3): JumpReluGrads {
  const [rows, cols] = expectMatrix('jumpreluBackward', 'x', x);
  expectShape('jumpreluBackward', 'dy', dy, [rows, cols]);
  expectShape('jumpreluBackward', 'theta', theta, [cols]);
  const dx = run('jumprelu_backward_input', empty(x.gpu, [rows, cols]), x, dy, theta, eps);
  const dTheta = run('jumprelu_backward_threshold', empty(x.gpu, [cols]), x, dy, theta, eps);
  return { dx, dTheta };
}
