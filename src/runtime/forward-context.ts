/**
 * What a family's forward builder sees: the graph, its weights, the standard inputs, and `hook`,
 * which it calls exactly where each hook value is computed. Everything a run asks for (which
 * hooks to output, interventions, segment cuts, the KV cache) is applied behind `hook` and
 * `attendCache`, so families never know about it.
 */
import type { GraphBuilder } from './onnx/graph.js';

/** Graph inputs every forward pass has. Shapes: b = batch, p = positions, t = past + p. */
export interface ForwardInputs {
  /** Token ids, int64 [b, p]. */
  readonly ids: string;
  /** Position of each token (follows the attention mask, so left padding does not shift it), int64 [b, p]. */
  readonly positions: string;
  /** Which key each query may attend to (causal ∧ not padding), bool [b, 1, p, t]. */
  readonly mask: string;
  /** The same with the sliding window (query i sees keys i − W < j ≤ i), for layers with local attention; fed only to models with a window. */
  readonly slidingMask: string;
}

export interface ForwardContext {
  readonly g: GraphBuilder;
  readonly inputs: ForwardInputs;
  /** Graph name of a weight by its interp name (see WeightSpec.name). */
  w(name: string): string;
  /** Whether the checkpoint provided this optional weight. */
  hasWeight(name: string): boolean;
  /**
   * Declares that `tensor` is the value of hook point `name`; returns the tensor to use from
   * here on (the same one, or one with interventions applied, or a segment's input).
   */
  hook(name: string, tensor: string): string;
  /**
   * Keys and values of layer L for attention, [b, kv, p, dh] each (after rotary): with a KV
   * cache, the past is prepended and the result recorded as the layer's present; returns the
   * [b, kv, t, dh] tensors to attend over.
   */
  attendCache(layer: number, k: string, v: string): { k: string; v: string };
}
