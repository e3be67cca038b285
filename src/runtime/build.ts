/**
 * Turns a family's forward pass plus a GraphPlan (which hooks to output, which interventions to
 * compile in, which hook values arrive from JavaScript, whether to keep a KV cache) into an ONNX
 * graph. Everything the plan does happens inside `hook` and `attendCache`; pruning in
 * GraphBuilder.serialize then drops every node no output needs, which is how a run that fetches
 * only `blocks.5.hook_resid_post` never computes layers 6 and up.
 */
import { ShapeMismatchError } from '../errors.js';
import type { BoundFamily } from './families/index.js';
import type { ArchConfig } from './families/types.js';
import type { ForwardContext } from './forward-context.js';
import type { Dim, ElemType } from './onnx/graph.js';
import { GraphBuilder } from './onnx/graph.js';
import type { HookPoint, ShapeDim } from '../hooks.js';
import type { WeightCache } from './weight-cache.js';

/** An intervention as the graph sees it; its tensors are graph inputs named `iv<i>.<part>`. */
export type GraphIntervention =
  /** x + value; value broadcasts to the hook's shape. */
  | { readonly kind: 'add'; readonly hook: string }
  /** x · factor; factor broadcasts to the hook's shape. */
  | { readonly kind: 'scale'; readonly hook: string }
  /** where(mask, value, x); mask (bool) and value broadcast to the hook's shape. */
  | { readonly kind: 'replace'; readonly hook: string }
  /** x − gate·(x·u)u over the last axis, u a unit direction [d]; gate float, broadcastable to [b, p, 1]. */
  | { readonly kind: 'project_out'; readonly hook: string };

export interface GraphPlan {
  /** Hook values to output, by full name. */
  readonly fetch: readonly string[];
  /** Interventions compiled into the graph, applied in order at their hooks. */
  readonly interventions: readonly GraphIntervention[];
  /** Hooks whose value is a graph input `in.<hook>` (the graph starts there: segment mode). */
  readonly inputHooks: readonly string[];
  /** Hooks whose value is output as `out.<hook>` (the graph hands it to JavaScript). */
  readonly cutHooks: readonly string[];
  /** Layers whose attention keeps a KV cache: inputs past.L.k/v, outputs present.L.k/v. null: no cache. */
  readonly cacheLayers: readonly number[] | null;
}

export interface BuiltGraph {
  readonly bytes: Uint8Array;
  /** Graph inputs that survived pruning; a run feeds exactly these. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** Concrete dims of a hook's shape, symbolic where they vary per run. */
export function hookDims(point: HookPoint, c: ArchConfig): Dim[] {
  const sizes: Record<Exclude<ShapeDim, 1>, Dim> = { b: 'batch', p: 'pos', t: 'keys', d: c.dModel, h: c.nHeads, kv: c.nKvHeads, dh: c.dHead, m: c.dMlp, V: c.vocabSize };
  return point.spec.shape.map((s) => (s === 1 ? 1 : sizes[s]));
}

export function buildGraph(
  family: BoundFamily,
  weights: WeightCache,
  points: ReadonlyMap<string, HookPoint>,
  plan: GraphPlan,
): BuiltGraph {
  const g = new GraphBuilder();
  const inputs = {
    ids: g.input('input_ids', 'int64', ['batch', 'pos']),
    positions: g.input('position_ids', 'int64', ['batch', 'pos']),
    mask: g.input('attention_mask', 'bool', ['batch', 1, 'pos', 'keys']),
    slidingMask: g.input('sliding_mask', 'bool', ['batch', 1, 'pos', 'keys']),
  };
  const config = family.config;
  const fetch = new Set(plan.fetch);
  const inputHooks = new Set(plan.inputHooks);
  const cutHooks = new Set(plan.cutHooks);
  const cacheLayers = new Set(plan.cacheLayers ?? []);
  const used = new Set<string>();
  const dims = (name: string): Dim[] => {
    const point = points.get(name);
    if (!point) throw new Error(`buildGraph: ${name} is not a hook point of this model`);
    return hookDims(point, config);
  };

  const ctx: ForwardContext = {
    g,
    inputs,
    w(name) {
      const t = weights.tensors.get(name);
      if (!t) throw new Error(`buildGraph: weight ${name} is not in the weight cache`);
      if (!used.has(name)) {
        used.add(name);
        g.external(name, t);
      }
      return name;
    },
    hasWeight: (name) => weights.tensors.has(name),
    hook(name, tensor) {
      let value = tensor;
      if (inputHooks.has(name)) {
        value = g.input(`in.${name}`, 'float32', dims(name));
      } else {
        plan.interventions.forEach((iv, i) => {
          if (iv.hook === name) value = applyIntervention(g, iv, i, value, dims(name).length);
        });
        if (cutHooks.has(name)) g.output(`out.${name}`, value, 'float32', dims(name));
      }
      if (fetch.has(name)) g.output(name, value, 'float32', dims(name));
      return value;
    },
    attendCache(layer, k, v) {
      if (!cacheLayers.has(layer) && plan.cacheLayers === null) return { k, v };
      const kvDims: Dim[] = ['batch', config.nKvHeads, 'past', config.dHead];
      const pastK = g.hasInput(`past.${layer}.k`) ? `past.${layer}.k` : g.input(`past.${layer}.k`, 'float32', kvDims);
      const pastV = g.hasInput(`past.${layer}.v`) ? `past.${layer}.v` : g.input(`past.${layer}.v`, 'float32', kvDims);
      const allK = g.node('Concat', [pastK, k], { axis: { int: 2 } });
      const allV = g.node('Concat', [pastV, v], { axis: { int: 2 } });
      if (cacheLayers.has(layer)) {
        const outDims: Dim[] = ['batch', config.nKvHeads, 'keys', config.dHead];
        g.output(`present.${layer}.k`, allK, 'float32', outDims);
        g.output(`present.${layer}.v`, allV, 'float32', outDims);
      }
      return { k: allK, v: allV };
    },
  };
  family.forward(ctx);
  const { bytes, inputs: kept } = g.serialize(`${config.modelType}-interp`);
  return { bytes, inputs: kept, outputs: g.outputNames() };
}

function applyIntervention(g: GraphBuilder, iv: GraphIntervention, i: number, x: string, rank: number): string {
  const name = (part: string) => `iv${i}.${part}`;
  const anyDims = (n: number): Dim[] => Array.from({ length: n }, (_, j) => `iv${i}_${j}`);
  switch (iv.kind) {
    case 'add':
      return g.node('Add', [x, g.input(name('value'), 'float32', anyDims(rank))]);
    case 'scale':
      return g.node('Mul', [x, g.input(name('factor'), 'float32', anyDims(rank))]);
    case 'replace':
      return g.node('Where', [g.input(name('mask'), 'bool', anyDims(rank)), g.input(name('value'), 'float32', anyDims(rank)), x]);
    case 'project_out': {
      if (rank !== 3) throw new ShapeMismatchError(`project_out at ${iv.hook}: the hook has rank ${rank}`, 'directional ablation applies to [batch, pos, d] hooks such as resid_post, attn_out or mlp_out');
      const u = g.input(name('direction'), 'float32', [`iv${i}_d`]);
      const gate = g.input(name('gate'), 'float32', anyDims(3)); // 1 where the ablation applies
      const coeff = g.node('ReduceSum', [g.node('Mul', [x, u]), g.constI64([-1])], { keepdims: { int: 1 } }); // [b, p, 1]
      return g.node('Sub', [x, g.node('Mul', [g.node('Mul', [coeff, gate]), u])]);
    }
  }
}

/** Element type of a plan's graph inputs, for feeding. */
export function inputType(name: string): ElemType {
  if (name === 'input_ids' || name === 'position_ids') return 'int64';
  if (name === 'attention_mask' || name === 'sliding_mask' || /^iv\d+\.mask$/.test(name)) return 'bool';
  return 'float32';
}
