/**
 * Adam / AdamW update in place. State (m, v, step) lives in an AdamState per parameter; the
 * defaults follow torch.optim (β1 0.9, β2 0.999, ε 1e-8) with SAELens' lr 3e-4.
 */
import { UsageError } from '../../errors.js';
import { bindRowRange, dispatch, linearGroups, packParams, rowChunks, type KernelSpec } from '../kernel.js';
import { expectShape, keep, zeros, type Tensor } from '../tensor.js';

const WG = 64;

/** Hyperparameters of one Adam / AdamW step. */
export interface AdamOptions {
  /** Learning rate (default 3e-4, SAELens). */
  readonly lr?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Weight decay (default 0). */
  readonly weightDecay?: number;
  /** true: decoupled decay (AdamW, default); false: L2 decay added to the gradient (Adam). */
  readonly decoupled?: boolean;
}

/** Optimiser state of one parameter: moments shaped like it and the step count. */
export interface AdamState {
  /** First moment, shaped like the parameter. */
  readonly m: Tensor;
  /** Second moment, shaped like the parameter. */
  readonly v: Tensor;
  /** Steps taken so far. */
  step: number;
}

/** Zero moments for `param` (kept out of any scope: dispose them with `disposeAdamState`). */
export function adamState(param: Tensor): AdamState {
  return { m: keep(zeros(param.gpu, param.shape)), v: keep(zeros(param.gpu, param.shape)), step: 0 };
}

export function disposeAdamState(state: AdamState): void {
  state.m.dispose();
  state.v.dispose();
}

function spec(decoupled: boolean, vec4: boolean): KernelSpec {
  const entry = vec4 ? 'adam4' : 'adam';
  return {
    name: entry,
    wgsl: new URL('./adam.wgsl', import.meta.url),
    entry,
    workgroup: [WG, 1],
    bindings: [
      { name: 'param', access: 'write', shape: '[n] f32 (in place)' },
      { name: 'm', access: 'write', shape: '[n] f32 (in place)' },
      { name: 'v', access: 'write', shape: '[n] f32 (in place)' },
      { name: 'grad', access: 'read', shape: '[n] f32' },
      { name: 'p', access: 'uniform', shape: 'Params' },
    ],
    constants: { ADAMW: +decoupled },
  };
}

/** One step: updates `param`, `state.m`, `state.v` in place and increments `state.step`. */
export function adamStep(param: Tensor, grad: Tensor, state: AdamState, options: AdamOptions = {}): void {
  expectShape('adamStep', 'grad', grad, param.shape);
  expectShape('adamStep', 'state.m', state.m, param.shape);
  expectShape('adamStep', 'state.v', state.v, param.shape);
  const lr = options.lr ?? 3e-4;
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
    throw new UsageError(`adamStep: lr ${lr}, beta1 ${beta1}, beta2 ${beta2} out of range`, 'use lr ≥ 0 and betas in [0, 1)');
  }
  state.step += 1;
  const t = state.step;
  const vec4 = param.size % 4 === 0;
  // Element ranges that fit the storage binding limit (a whole multiple of 4 when vectorised).
  const runs = rowChunks(param.gpu, vec4 ? param.size / 4 : param.size, [vec4 ? 16 : 4]).map(([r0, r1]) => {
    const unit = vec4 ? 16 : 4;
    const count = (r1 - r0) * (vec4 ? 4 : 1);
    const params = packParams([
      ['u32', count], ['f32', lr], ['f32', beta1], ['f32', beta2], ['f32', options.eps ?? 1e-8],
      ['f32', options.weightDecay ?? 0], ['f32', 1 - beta1 ** t], ['f32', 1 - beta2 ** t],
    ]);
    const bind = (x: Tensor) => bindRowRange(x.buffer, unit, r0, r1);
    return { buffers: [bind(param), bind(state.m), bind(state.v), bind(grad)], params, groups: linearGroups(param.gpu, r1 - r0, WG) };
  });
  dispatch(param.gpu, spec(options.decoupled ?? true, vec4), runs);
}
