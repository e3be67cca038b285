/**
 * Softmax and log-softmax along the rows of a [rows, cols] matrix, and their backward passes.
 * Forward returns y; backward takes (dy, y) — the forward output is what it saves.
 */
import { bindRowRange, dispatch, linearGroups, packParams, rowChunks, type KernelSpec } from '../kernel.js';
import { empty, expectMatrix, expectShape, type Tensor } from '../tensor.js';

const WG = 64;
type Entry = 'softmax' | 'log_softmax' | 'softmax_backward' | 'log_softmax_backward';

function spec(entry: Entry): KernelSpec {
  return {
    name: entry,
    wgsl: new URL('./softmax.wgsl', import.meta.url),
    entry,
    workgroup: [WG, 1],
    bindings: [
      { name: 'out', access: 'write', shape: '[rows, cols] f32' },
      { name: 'x', access: 'read', shape: '[rows, cols] f32 (y in backward)' },
      { name: 'dy', access: 'read', shape: '[rows, cols] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
  };
}

function run(entry: Entry, x: Tensor, dy?: Tensor): Tensor {
  const [rows, cols] = expectMatrix(entry, entry.endsWith('backward') ? 'y' : 'x', x);
  if (dy) expectShape(entry, 'dy', dy, [rows, cols]);
  const out = empty(x.gpu, [rows, cols]);
  const runs = rowChunks(x.gpu, rows, [cols * 4]).map(([r0, r1]) => {
    const bind = (t: Tensor) => bindRowRange(t.buffer, cols * 4, r0, r1);
    return { buffers: [bind(out), bind(x), bind(dy ?? x)], params: packParams([['u32', r1 - r0], ['u32', cols]]), groups: linearGroups(x.gpu, r1 - r0, WG) };
  });
  dispatch(x.gpu, spec(entry), runs);
  return out;
}

/** y = softmax(x) along rows. */
export const softmax = (x: Tensor): Tensor => run('softmax', x);
/** dx from dy and the forward output y = softmax(x). */
export const softmaxBackward = (dy: Tensor, y: Tensor): Tensor => run('softmax_backward', y, dy);
/** y = log_softmax(x) along rows. */
export const logSoftmax = (x: Tensor): Tensor => run('log_softmax', x);
/** dx from dy and the forward output y = log_softmax(x). */
export const logSoftmaxBackward = (dy: Tensor, y: Tensor): Tensor => run('log_softmax_backward', y, dy);
