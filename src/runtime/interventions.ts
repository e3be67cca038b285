/**
 * Interventions on hook values, as users write them, and how each becomes graph inputs for one
 * forward step. Positions are absolute token indices within a row (0 = the row's first real
 * token, BOS included), never padded indices, so the same intervention means the same thing in
 * a batch, alone, and step by step under a KV cache (steering-vectors #60).
 */
import * as ort from 'onnxruntime-node';
import { ShapeMismatchError, UsageError } from '../errors.js';
import type { GraphIntervention } from './build.js';
import type { HookPoint } from '../hooks.js';
import type { HostTensor } from './tensor.js';

/** Which (row, absolute position) pairs an intervention touches. */
export type PositionSelector = 'all' | ((row: number, position: number) => boolean);

/** A JavaScript hook: sees the value (and may change it in place) or returns a replacement of the same shape. */
export type HookFunction = (value: HostTensor, step: StepInfo) => HostTensor | void;

export type Intervention =
  /** Adds `value` at the hook: either one vector over the hook's trailing dims (e.g. [d]), broadcast to the selected positions, or a full tensor of the hook's padded shape. */
  | { readonly kind: 'add'; readonly hook: string; readonly value: Float32Array; readonly positions?: PositionSelector }
  /** Multiplies the hook's value by `factor` at the selected positions. */
  | { readonly kind: 'scale'; readonly hook: string; readonly factor: number; readonly positions?: PositionSelector }
  /** Replaces the value at the selected positions with `value`, a full tensor of the hook's padded shape (activation patching). */
  | { readonly kind: 'replace'; readonly hook: string; readonly value: Float32Array; readonly positions?: PositionSelector }
  /** Removes the component along `direction` ([d], any norm): h − (h·û)û (directional ablation). */
  | { readonly kind: 'project_out'; readonly hook: string; readonly direction: Float32Array; readonly positions?: PositionSelector }
  /** Runs `fn` on the value in JavaScript (segment mode: the graph is split at the hook). */
  | { readonly kind: 'function'; readonly hook: string; readonly fn: HookFunction };

/** What one forward step looks like, for building masks and for JavaScript hooks. */
export interface StepInfo {
  readonly batch: number;
  /** Query positions in this step (padded). */
  readonly positions: number;
  /** Key positions (past + positions). */
  readonly keys: number;
  /** Absolute position of each query, [b, p]. */
  readonly positionIds: BigInt64Array;
  /** 1 where the query is a real token, [b, p]. */
  readonly real: Uint8Array;
}

/** The graph-side form of a compiled (non-function) intervention. */
export function toGraphIntervention(iv: Exclude<Intervention, { kind: 'function' }>): GraphIntervention {
  return { kind: iv.kind, hook: iv.hook };
}

/** Index of the query-position axis in a hook's shape (1 for [b, p, ...], 2 for [b, h, p, t]). */
function positionAxis(point: HookPoint): number {
  return point.spec.shape.indexOf('p');
}

/** [b, p] selection of real query positions the selector picks. */
function selection(step: StepInfo, positions: PositionSelector | undefined): Uint8Array {
  const sel = new Uint8Array(step.batch * step.positions);
  for (let r = 0; r < step.batch; r++) {
    for (let i = 0; i < step.positions; i++) {
      const k = r * step.positions + i;
      if (!step.real[k]) continue;
      const pos = Number(step.positionIds[k]);
      sel[k] = positions === undefined || positions === 'all' || positions(r, pos) ? 1 : 0;
    }
  }
  return sel;
}

/** A [b, p] selection broadcast to a shape with ones elsewhere: [b, 1, p, 1] for pattern hooks, [b, p, 1, …] otherwise. */
function selectionShape(point: HookPoint, step: StepInfo, rank: number): number[] {
  const shape = new Array<number>(rank).fill(1);
  shape[0] = step.batch;
  shape[positionAxis(point)] = step.positions;
  return shape;
}

/**
 * The graph inputs `iv<i>.*` of intervention i for one step. `shape` is the hook's concrete
 * shape in this step.
 */
export function interventionFeeds(iv: Exclude<Intervention, { kind: 'function' }>, i: number, point: HookPoint, shape: readonly number[], step: StepInfo): Record<string, ort.Tensor> {
  const rank = shape.length;
  const sel = selection(step, 'positions' in iv ? iv.positions : undefined);
  const selShape = selectionShape(point, step, rank);
  const total = shape.reduce((a, n) => a * n, 1);
  const axis = positionAxis(point);
  const trailing = shape.slice(axis + 1).reduce((a, n) => a * n, 1);
  const name = (part: string) => `iv${i}.${part}`;
  switch (iv.kind) {
    case 'add': {
      if (iv.value.length === total) return { [name('value')]: new ort.Tensor('float32', iv.value, [...shape]) };
      if (iv.value.length !== trailing || axis !== 1) {
        throw new ShapeMismatchError(`add at ${iv.hook}: value has ${iv.value.length} elements`, `give a vector of ${trailing} elements (the hook's trailing dims) or a full tensor of [${shape.join(', ')}]`);
      }
      const out = new Float32Array(total);
      for (let k = 0; k < sel.length; k++) if (sel[k]) out.set(iv.value, k * trailing);
      return { [name('value')]: new ort.Tensor('float32', out, [...shape]) };
    }
    case 'scale': {
      const factor = Float32Array.from(sel, (s) => (s ? iv.factor : 1));
      return { [name('factor')]: new ort.Tensor('float32', factor, selShape) };
    }
    case 'replace': {
      if (iv.value.length !== total) throw new ShapeMismatchError(`replace at ${iv.hook}: value has ${iv.value.length} elements, the hook has [${shape.join(', ')}] = ${total}`, 'pass a tensor captured from a run with the same batch shape');
      return { [name('mask')]: new ort.Tensor('bool', sel, selShape), [name('value')]: new ort.Tensor('float32', iv.value, [...shape]) };
    }
    case 'project_out': {
      if (iv.direction.length !== shape[rank - 1]) throw new ShapeMismatchError(`project_out at ${iv.hook}: direction has ${iv.direction.length} elements, expected ${shape[rank - 1]}`, 'give a direction of the hook\'s width (d_model)');
      let norm = 0;
      for (const x of iv.direction) norm += x * x;
      norm = Math.sqrt(norm);
      // A zero direction removes nothing (and leaves the value bit-identical).
      const unit = norm > 0 ? iv.direction.map((x) => x / norm) : new Float32Array(iv.direction.length);
      return { [name('direction')]: new ort.Tensor('float32', unit, [unit.length]), [name('gate')]: new ort.Tensor('float32', Float32Array.from(sel), selShape) };
    }
  }
}

/** Checks that a JavaScript hook returned a tensor of the right shape. */
export function checkReturned(hook: string, returned: HostTensor, expected: readonly number[]): void {
  const same = returned.shape.length === expected.length && returned.shape.every((n, k) => n === expected[k]);
  if (!same || returned.data.length !== expected.reduce((a, n) => a * n, 1)) {
    throw new UsageError(`the function hook at ${hook} returned shape [${returned.shape.join(', ')}], expected [${expected.join(', ')}]`, 'return a tensor of the same shape, or modify the value in place and return nothing');
  }
}
