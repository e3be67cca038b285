/**
 * Mean squared error and binary cross-entropy with logits, averaged over all elements, with
 * their gradients with respect to the prediction. Argument order: pred, target.
 */
import { dispatch, linearGroups, packParams, type KernelSpec } from '../kernel.js';
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
  const params = packParams([['u32', n], ['f32', options.gradScale ?? 1]]);
  const partial = empty(gpu, [chunks]);
  const total = empty(gpu, [1]);
  let loss: Tensor;
  try {
    if (n === 0) partial.write([0]);
    else dispatch(gpu, spec(`${kind}_partial`), [{ buffers: [partial.buffer, pred.buffer, target.buffer], params, groups: linearGroups(gpu, chunks, WG) }]);
    reduceInto(gpu, total.buffer, partial.buffer, 1, chunks, 'sum', 'rows');
    loss = unary('affine', total, { alpha: n === 0 ? 0 : 1 / n });
  } finally {
    partial.dispose();
    total.dispose();
  }
  if (!options.grad) return { loss };
  const grad = empty(gpu, pred.shape);
  dispatch(gpu, spec(`${kind}_backward`), [{ buffers: [grad.buffer, pred.buffer, target.buffer], params, groups: linearGroups(gpu, n, WG) }]);
  return { loss, grad };
}

/** Mean squared error (1/n) Σ (pred − target)²; `grad: true` also returns 2(pred − target)/n. */
export const mse = (pred: Tensor, target: Tensor, options: { grad?: boolean; gradScale?: number } = {}): LossResult => lossWithGrad('mse', pred, target, options);

/** Binary cross-entropy of logits `pred` against targets in [0, 1], averaged; grad (σ(z) − y)/n. */
export const bce = (pred: Tensor, target: Tensor, options: { grad?: boolean; gradScale?: number } = {}): LossResult => lossWithGrad('bce', pred, target, options);
