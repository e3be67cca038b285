/**
 * Elementwise ops: unary f(x) and binary a ∘ b with b the same shape, a row vector [cols]
 * broadcast over the rows of a, or a scalar [1]. Outputs have a's shape.
 */
import { ShapeMismatchError } from '../../errors.js';
import { bindRowRange, dispatch, linearGroups, packParams, rowChunks, type KernelSpec } from '../kernel.js';
import { empty, expectShape, type Tensor } from '../tensor.js';

/** Unary ops, in the order of OP in elementwise.wgsl. */
export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt', 'square', 'abs', 'affine', 'sigmoid', 'tanh'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
/** Binary ops, in the order of OP in elementwise.wgsl. */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

const WGSL = new URL('./elementwise.wgsl', import.meta.url);
const WG = 64;

function spec(entry: 'unary' | 'binary', op: number, broadcast: number): KernelSpec {
  return {
    name: `elementwise_${entry}`,
    wgsl: WGSL,
    entry,
    workgroup: [WG, 1],
    bindings: [
      { name: 'out', access: 'write', shape: '[count] f32' },
      { name: 'a', access: 'read', shape: '[count] f32' },
      { name: 'b', access: 'read', shape: '[count], [cols] or [1] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
    constants: { OP: op, BROADCAST: broadcast },
  };
}

/** y = f(x); `affine` computes alpha·x + beta. */
export function unary(op: UnaryOp, x: Tensor, options: { alpha?: number; beta?: number; out?: Tensor } = {}): Tensor {
  expectShape(`unary ${op}`, 'x', x, x.shape.map(() => -1));
  const out = options.out ?? empty(x.gpu, x.shape);
  if (options.out) expectShape(`unary ${op}`, 'out', out, x.shape);
  // Split into element ranges that fit the storage binding limit (one range below 128 MiB).
  const runs = rowChunks(x.gpu, x.size, [4, 4]).map(([e0, e1]) => {
    const xs = bindRowRange(x.buffer, 4, e0, e1);
    const params = packParams([['u32', e1 - e0], ['u32', 1], ['f32', options.alpha ?? 1], ['f32', options.beta ?? 0]]);
    return { buffers: [bindRowRange(out.buffer, 4, e0, e1), xs, xs], params, groups: linearGroups(x.gpu, e1 - e0, WG) };
  });
  dispatch(x.gpu, spec('unary', UNARY_OPS.indexOf(op), 0), runs);
  return out;
}

/** out = a ∘ b, with b shaped like a, like a's last dimension (broadcast over rows), or [1]. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor, options: { out?: Tensor } = {}): Tensor {
  expectShape(`binary ${op}`, 'a', a, a.shape.map(() => -1));
  expectShape(`binary ${op}`, 'b', b, b.shape.map(() => -1));
  const cols = a.shape.at(-1) ?? 1;
  let broadcast: number;
  if (b.size === a.size && b.shape.length === a.shape.length && b.shape.every((d, i) => d === a.shape[i])) broadcast = 0;
  else if (b.shape.length === 1 && b.shape[0] === cols && a.shape.length >= 1) broadcast = 1;
  else if (b.size === 1) broadcast = 2;
  else {
    throw new ShapeMismatchError(`binary ${op}: b ${b.describe()} neither matches a ${a.describe()}, nor its last dimension [${cols}], nor is a scalar [1]`, 'pass b with the same shape as a, a row vector, or a scalar');
  }
  const out = options.out ?? empty(a.gpu, a.shape);
  if (options.out) expectShape(`binary ${op}`, 'out', out, a.shape);
  // Split into ranges that fit the storage binding limit: whole rows when b is a row vector.
  const unit = broadcast === 1 ? Math.max(cols, 1) : 1;
  const runs = rowChunks(a.gpu, a.size / unit, [unit * 4, unit * 4]).map(([r0, r1]) => {
    const count = (r1 - r0) * unit;
    const params = packParams([['u32', count], ['u32', Math.max(cols, 1)], ['f32', 0], ['f32', 0]]);
    const bBound = broadcast === 0 ? bindRowRange(b.buffer, unit * 4, r0, r1) : b.buffer;
    return { buffers: [bindRowRange(out.buffer, unit * 4, r0, r1), bindRowRange(a.buffer, unit * 4, r0, r1), bBound], params, groups: linearGroups(a.gpu, count, WG) };
  });
  dispatch(a.gpu, spec('binary', BINARY_OPS.indexOf(op), broadcast), runs);
  return out;
}
