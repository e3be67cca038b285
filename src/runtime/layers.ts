/**
 * Graph builders shared by the families: linear layers, norms, rotary embedding, attention,
 * activations. Each takes options, never a family name. Vocabulary: b = batch, p = positions,
 * t = key positions (past + p), d = d_model, h = heads, kv = key/value heads, dh = d_head.
 */
import type { ForwardContext } from './forward-context.js';
import { hookName } from './hooks.js';
import type { GraphBuilder } from './onnx/graph.js';

/** x @ W (+ b) with W cached as [in, out]. x: [..., in] → [..., out]. */
export function linear(ctx: ForwardContext, x: string, weight: string, bias?: string): string {
  const y = ctx.g.node('MatMul', [x, ctx.w(weight)]);
  return bias !== undefined && ctx.hasWeight(bias) ? ctx.g.node('Add', [y, ctx.w(bias)]) : y;
}

/** LayerNorm without its affine part: (x − mean) / sqrt(var + eps) over the last axis. [b, p, d] → [b, p, d]. */
export function layerNormalize(g: GraphBuilder, x: string, d: number, eps: number): string {
  const ones = g.constF32(new Float32Array(d).fill(1), [d], 'ones');
  const zeros = g.constF32(new Float32Array(d), [d], 'zeros');
  return g.node('LayerNormalization', [x, ones, zeros], { axis: { int: -1 }, epsilon: eps });
}

/** RMSNorm without its weight: x · rsqrt(mean(x²) + eps) over the last axis. [b, p, d] → [b, p, d]. */
export function rmsNormalize(g: GraphBuilder, x: string, eps: number): string {
  const meanSquare = g.node('ReduceMean', [g.node('Mul', [x, x])], { axes: { ints: [-1] }, keepdims: { int: 1 } });
  const rms = g.node('Sqrt', [g.node('Add', [meanSquare, g.constF32([eps], [], 'eps')])]);
  return g.node('Div', [x, rms]);
}

/** Multiplies by a norm's weight and adds its bias (when given). */
export function affine(ctx: ForwardContext, x: string, weight: string, bias?: string): string {
  const scaled = ctx.g.node('Mul', [x, ctx.w(weight)]);
  return bias !== undefined && ctx.hasWeight(bias) ? ctx.g.node('Add', [scaled, ctx.w(bias)]) : scaled;
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
 * dims i and i + rotaryDim/2 (RoFormer, Su et al. 2021). `invFreq` has rotaryDim/2 entries.
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

/** Applies rotary embedding to the first rotaryDim dims of x: [b, p, heads, dh] → same. */
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

/** Options of causal self-attention. */
export interface AttentionOptions {
  readonly layer: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly dHead: number;
}

/**
 * Masked softmax attention with grouped-query heads. Inputs: q [b, p, h, dh], k and v
 * [b, p, kv, dh] (after rotary). Returns z = pattern · v, [b, p, h, dh], after its hook.
 * Query heads are grouped by the KV head they share (head i uses KV head ⌊i / (h/kv)⌋, as
 * Hugging Face's repeat_kv), so keys and values are never copied h/kv times.
 */
export function attention(ctx: ForwardContext, q: string, k: string, v: string, o: AttentionOptions): string {
  const { g } = ctx;
  const L = o.layer;
  const toHeadsFirst = { perm: { ints: [0, 2, 1, 3] } };
  const qh = g.node('Transpose', [q], toHeadsFirst); // [b, h, p, dh]
  const cached = ctx.attendCache(L, g.node('Transpose', [k], toHeadsFirst), g.node('Transpose', [v], toHeadsFirst)); // [b, kv, t, dh]
  const qGrouped = g.node('Reshape', [qh, g.constI64([0, o.nKvHeads, -1, o.dHead])]); // [b, kv, (h/kv)·p, dh]
  const kT = g.node('Transpose', [cached.k], { perm: { ints: [0, 1, 3, 2] } }); // [b, kv, dh, t]
  const raw = g.node('Div', [g.node('MatMul', [qGrouped, kT]), g.constF32([Math.sqrt(o.dHead)], [], 'sqrt_dh')]);
  const scores = g.node('Reshape', [raw, g.constI64([0, o.nHeads, -1, 0])]); // [b, h, p, t]
  // Masked entries take the most negative float rather than −inf, so that a row with no visible
  // key (a padding query) gives a uniform pattern instead of NaN that would leak through 0·NaN.
  const masked = g.node('Where', [ctx.inputs.mask, scores, g.constF32([-3.4028234663852886e38], [], 'neg_max')]);
  const hookedScores = ctx.hook(hookName('blocks.{L}.attn.hook_attn_scores', L), masked);
  const pattern = ctx.hook(hookName('blocks.{L}.attn.hook_pattern', L), g.node('Softmax', [hookedScores], { axis: { int: -1 } }));
  const patternGrouped = g.node('Reshape', [pattern, g.constI64([0, o.nKvHeads, -1, 0])]); // [b, kv, (h/kv)·p, t]
  const zGrouped = g.node('MatMul', [patternGrouped, cached.v]); // [b, kv, (h/kv)·p, dh]
  const zHeads = g.node('Reshape', [zGrouped, g.constI64([0, o.nHeads, -1, o.dHead])]); // [b, h, p, dh]
  return ctx.hook(hookName('blocks.{L}.attn.hook_z', L), g.node('Transpose', [zHeads], toHeadsFirst)); // [b, p, h, dh]
}

/** GELU with the tanh approximation (Hugging Face's gelu_new, GPT-2's activation). */
export function geluTanh(g: GraphBuilder, x: string): string {
  const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
  const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, g.constF32([0.044715], [])])]), g.constF32([Math.sqrt(2 / Math.PI)], [])]);
  const half = g.node('Mul', [x, g.constF32([0.5], [])]);
  return g.node('Mul', [half, g.node('Add', [g.node('Tanh', [inner]), g.constF32([1], [])])]);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)). */
export function geluErf(g: GraphBuilder, x: string): string {
  const erf = g.node('Erf', [g.node('Div', [x, g.constF32([Math.SQRT2], [])])]);
  return g.node('Mul', [g.node('Mul', [x, g.constF32([0.5], [])]), g.node('Add', [erf, g.constF32([1], [])])]);
}

/** SiLU, x·sigmoid(x). */
export function silu(g: GraphBuilder, x: string): string {
  return g.node('Mul', [x, g.node('Sigmoid', [x])]);
}
