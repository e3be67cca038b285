/**
 * Graph primitives shared by the families and the block builder: linear layers, norms (with their
 * TransformerLens hook points), rotary embedding, activations, head reshapes. Each takes options,
 * never a family name. Vocabulary: b = batch, p = positions, d = d_model, h = heads,
 * kv = key/value heads, dh = d_head.
 */
import type { ForwardContext } from './forward-context.js';
import type { GraphBuilder } from './onnx/graph.js';

/** A linear layer by interp weight names; the weight is cached [in, out], the bias is optional. */
export interface LinearSpec {
  readonly weight: string;
  readonly bias?: string;
}

/** x @ W (+ b) with W cached as [in, out]. x: [..., in] → [..., out]. */
export function linear(ctx: ForwardContext, x: string, l: LinearSpec): string {
  const y = ctx.g.node('MatMul', [x, ctx.w(l.weight)]);
  return l.bias !== undefined && ctx.hasWeight(l.bias) ? ctx.g.node('Add', [y, ctx.w(l.bias)]) : y;
}

/**
 * A norm and where its hooks go. `layer`: LayerNorm, (x − mean) / √(var + eps) · w + b.
 * `rms`: RMSNorm, x / √(mean(x²) + eps) · w, or · (1 + w) with `unitOffset` (Gemma stores w − 1).
 */
export interface NormSpec {
  readonly kind: 'layer' | 'rms';
  readonly eps: number;
  readonly weight: string;
  readonly bias?: string;
  readonly unitOffset?: boolean;
  /** Hook prefix (`blocks.3.ln1`, `ln_final`) whose hook_scale and hook_normalized this norm sets; none for q/k norms. */
  readonly hooks?: { readonly scale: string; readonly normalized: string };
}

/**
 * Applies a norm over the last axis, setting its hooks as TransformerLens' LayerNorm/RMSNorm do:
 * hook_scale [.., 1] is the divisor, hook_normalized the value before the weight and bias.
 * The ops follow onnxruntime's (Simplified)LayerNormalization fusion pattern
 * (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) so an unhooked norm runs fused.
 */
export function norm(ctx: ForwardContext, x: string, n: NormSpec): string {
  const { g } = ctx;
  const mean = (t: string) => g.node('ReduceMean', [t], { axes: { ints: [-1] }, keepdims: { int: 1 } });
  const centred = n.kind === 'layer' ? g.node('Sub', [x, mean(x)]) : x;
  const meanSquare = mean(g.node('Pow', [centred, g.constF32([2], [], 'two')]));
  const rawScale = g.node('Sqrt', [g.node('Add', [meanSquare, g.constF32([n.eps], [], 'eps')])]); // [.., 1]
  const scale = n.hooks ? ctx.hook(n.hooks.scale, rawScale) : rawScale;
  const rawNormalized = g.node('Div', [centred, scale]);
  const normalized = n.hooks ? ctx.hook(n.hooks.normalized, rawNormalized) : rawNormalized;
  const weight = n.unitOffset ? g.node('Add', [ctx.w(n.weight), g.constF32([1], [], 'one')]) : ctx.w(n.weight);
  const scaled = g.node('Mul', [normalized, weight]);
  return n.bias !== undefined && ctx.hasWeight(n.bias) ? g.node('Add', [scaled, ctx.w(n.bias)]) : scaled;
}

/** [b, p, heads·dh] → [b, p, heads, dh]. */
export function splitHeads(g: GraphBuilder, x: string, heads: number, dHead: number): string {
  return g.node('Reshape', [x, g.constI64([0, 0, heads, dHead])]);
}

/** [b, p, heads, dh] → [b, p, heads·dh]. */
export function mergeHeads(g: GraphBuilder, x: string): string {
  return g.node('Reshape', [x, g.constI64([0, 0, -1])]);
}

/** Rotary tables for the positions input: cos and sin, [b, p, 1, rotaryDim] each. */
export interface RotaryTables {
  readonly cos: string;
  readonly sin: string;
  readonly rotaryDim: number;
}

/**
 * Rotary position embedding tables in Hugging Face's rotate_half layout: frequency i applies to
 * dims i and i + rotaryDim/2 (RoFormer, Su et al. 2021; GPT-NeoX's layout). `invFreq` has
 * rotaryDim/2 entries.
 */
export function rotaryTables(g: GraphBuilder, positions: string, invFreq: Float64Array): RotaryTables {
  const rotaryDim = 2 * invFreq.length;
  const doubled = Float32Array.from({ length: rotaryDim }, (_, j) => invFreq[j % invFreq.length]);
  const pos = g.node('Unsqueeze', [g.node('Cast', [positions], { to: { int: 1 } }), g.constI64([-1, -2])]); // [b, p, 1, 1]
  const angles = g.node('Mul', [pos, g.constF32(doubled, [rotaryDim], 'inv_freq')]); // [b, p, 1, rotaryDim]
  return { cos: g.node('Cos', [angles]), sin: g.node('Sin', [angles]), rotaryDim };
}

/** The standard inverse frequencies theta^(−2i/rotaryDim), i < rotaryDim/2. */
export function ropeInverseFrequencies(rotaryDim: number, theta: number): Float64Array {
  return Float64Array.from({ length: rotaryDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / rotaryDim));
}

/** Applies rotary embedding to the first rotaryDim dims of x (partial rotary leaves the rest): [b, p, heads, dh] → same. */
export function applyRotary(g: GraphBuilder, x: string, r: RotaryTables, dHead: number): string {
  const half = r.rotaryDim / 2;
  const sizes = r.rotaryDim === dHead ? [half, half] : [half, half, dHead - r.rotaryDim];
  const parts = g.nodeMulti('Split', [x, g.constI64(sizes)], sizes.length, { axis: { int: -1 } });
  const [x1, x2] = parts;
  const rotated = g.node('Concat', [g.node('Neg', [x2]), x1], { axis: { int: -1 } }); // rotate_half
  const rot = g.node('Concat', [x1, x2], { axis: { int: -1 } });
  const mixed = g.node('Add', [g.node('Mul', [rot, r.cos]), g.node('Mul', [rotated, r.sin])]);
  return parts.length === 3 ? g.node('Concat', [mixed, parts[2]], { axis: { int: -1 } }) : mixed;
}

/** MLP activations by what they compute. */
export type Activation = 'gelu_tanh' | 'gelu_erf' | 'relu' | 'silu';

export function activate(g: GraphBuilder, x: string, act: Activation): string {
  switch (act) {
    case 'gelu_tanh': return geluTanh(g, x);
    case 'gelu_erf': return geluErf(g, x);
    case 'relu': return g.node('Relu', [x]);
    case 'silu': return g.node('Mul', [x, g.node('Sigmoid', [x])]);
  }
}

/** GELU with the tanh approximation (Hugging Face's gelu_new / gelu_pytorch_tanh). */
function geluTanh(g: GraphBuilder, x: string): string {
  const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
  const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, g.constF32([0.044715], [])])]), g.constF32([Math.sqrt(2 / Math.PI)], [])]);
  const half = g.node('Mul', [x, g.constF32([0.5], [])]);
  return g.node('Mul', [half, g.node('Add', [g.node('Tanh', [inner]), g.constF32([1], [])])]);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)). */
function geluErf(g: GraphBuilder, x: string): string {
  const erf = g.node('Erf', [g.node('Div', [x, g.constF32([Math.SQRT2], [])])]);
  return g.node('Mul', [g.node('Mul', [x, g.constF32([0.5], [])]), g.node('Add', [erf, g.constF32([1], [])])]);
}

/** cap · tanh(x / cap): Gemma 2's soft-capping of attention scores and final logits. */
export function softcap(g: GraphBuilder, x: string, cap: number): string {
  return g.node('Mul', [g.node('Tanh', [g.node('Div', [x, g.constF32([cap], [], 'cap')])]), g.constF32([cap], [], 'cap')]);
}
