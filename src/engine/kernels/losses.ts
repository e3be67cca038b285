/**
 * Mean squared error and binary cross-entropy with logits, averaged over all elements, with
 * their gradients with respect to the prediction. Argument order: pred, target.
 */
import { bindRowRange, dispatch, linearGroups, packParams, rowChunks, type KernelSpec } from '../kernel.js';
import { empty, expectShape, type Tensor } from '../tensor.js';
import { unary } from './elementwise.js';
import { reduceInto } from './reduce.js';

const WG = 64;
const CHUNK = 256; // matches CHUNK in losses.wgsl
type Loss = 'mse' | 'bce';

function spec(entry: string): KernelSpec {
  return {
    name: entry,
    wgsl: new URL('./losses.wgsl', import.meta.url),
    entry,
    workgroup: [WG, 1],
    bindings: [
      { name: 'out', access: 'write', shape: '[ceil(n/256)] partials or [n] grad f32' },
      { name: 'pred', access: 'read', shape: '[n] f32' },
      { name: 'truth', access: 'read', shape: '[n] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
}

/** A loss and, when asked, its gradient. */
export interface LossResult {
  /** [1]: the mean loss. */
  readonly loss: Tensor;
  /** Shaped like pred: ∂loss/∂pred (times `gradScale`); absent unless `grad` was true. */
  readonly grad?: Tensor;
}

function lossWithGrad(kind: Loss, pred: Tensor, target: Tensor, options: { grad?: boolean; gradScale?: number }): LossResult {
  expectShape(kind, 'pred', pred, pred.shape.map(() => -1));
  expectShape(kind, 'target', target, pred.shape);
  const gpu = pred.gpu;
  const n = pred.size;
  const chunks = Math.max(1, Math.ceil(n / CHUNK));
  const partial = empty(gpu, [chunks]);
  const total = empty(gpu, [1]);
  let loss: Tensor;
  try {
    if (n === 0) partial.write([0]);
    else {
      // Blocks of CHUNK-element groups that fit the storage binding limit (a block's partials
      // land at its group offset).
      const runs = rowChunks(gpu, chunks, [CHUNK * 4]).map(([q0, q1]) => {
        const e1 = Math.min(n, q1 * CHUNK);
        return {
          buffers: [partial.buffer, bindRowRange(pred.buffer, 4, q0 * CHUNK, e1), bindRowRange(target.buffer, 4, q0 * CHUNK, e1)],
          params: packParams([['u32', e1 - q0 * CHUNK], ['u32', n], ['f32', options.gradScale ?? 1], ['u32', q0]]),
          groups: linearGroups(gpu, q1 - q0, WG),
        };
      });
      dispatch(gpu, spec(`${kind}_partial`), runs);
    }
    reduceInto(gpu, total.buffer, partial.buffer, 1, chunks, 'sum', 'rows');
    loss = unary('affine', total, { alpha: n === 0 ? 0 : 1 / n });
  } finally {
    partial.dispose();
    total.dispose();
  }
  if (!options.grad) return { loss };
  const grad = empty(gpu, pred.shape);
  // The gradient divides by the full n (in params), block by block.
  const runs = rowChunks(gpu, n, [4]).map(([e0, e1]) => ({
    buffers: [bindRowRange(grad.buffer, 4, e0, e1), bindRowRange(pred.buffer, 4, e0, e1), bindRowRange(target.buffer, 4, e0, e1)],
    params: packParams([['u32', e1 - e0], ['u32', n], ['f32', options.gradScale ?? 1], ['u32', 0]]),
    groups: linearGroups(gpu, e1 - e0, WG),
  }));
  dispatch(gpu, spec(`${kind}_backward`), runs);
  return { loss, grad };
}

/** Mean squared error (1/n) Σ (pred − target)²; `grad: true` also returns 2(pred − target)/n. */
export const mse = (pred: Tensor, target: Tensor, options: { grad?: boolean; gradScale?: number } = {}): LossResult => lossWithGrad('mse', pred, target, options);

/** Binary cross-entropy of logits `pred` against targets in [0, 1], averaged; grad (σ(z) − y)/n. */
export const bce = (pred: Tensor, target: Tensor, options: { grad?: boolean; gradScale?: number } = {}): LossResult => lossWithGrad('bce', pred, target, options);
