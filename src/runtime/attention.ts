/**
 * Causal self-attention with grouped-query heads and the per-layer switches of the families:
 * fused or separate q/k/v projections, per-head q/k norms, full or partial rotary with a per-layer
 * base, the score divisor (√d_head or √query_pre_attn_scalar), attention-logit soft-capping, and a
 * full-causal or sliding-window mask. Hooks are set where each value is made, as in
 * TransformerLens' AbstractAttention.
 *
 * Vocabulary: b = batch, p = query positions, t = key positions (past + p), d = d_model,
 * h = heads, kv = key/value heads, dh = d_head.
 */
import type { ForwardContext } from './forward-context.js';
import { hookName } from '../hooks.js';
import { applyRotary, linear, mergeHeads, norm, softcap, splitHeads } from './layers.js';
import type { LinearSpec, NormSpec, RotaryTables } from './layers.js';

/**
 * How q, k and v are projected. `separate`: three linear layers (Llama, Gemma, Qwen).
 * `fused_blocks`: one linear layer whose output is [q | k | v] (GPT-2's c_attn, Phi-3's qkv_proj).
 * `fused_per_head`: one linear layer whose output is interleaved per head, [h, (q, k, v), dh]
 * (GPT-NeoX's query_key_value; requires kv = h).
 */
export type QkvSpec =
  | { readonly kind: 'separate'; readonly q: LinearSpec; readonly k: LinearSpec; readonly v: LinearSpec }
  | { readonly kind: 'fused_blocks'; readonly qkv: LinearSpec }
  | { readonly kind: 'fused_per_head'; readonly qkv: LinearSpec };

export interface AttentionSpec {
  readonly layer: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly dHead: number;
  readonly qkv: QkvSpec;
  readonly out: LinearSpec;
  /** Per-head RMSNorms of queries and keys, applied before rotary (Qwen3, Gemma 3); null: none. */
  readonly qkNorm: { readonly q: NormSpec; readonly k: NormSpec } | null;
  /** Rotary tables of this layer's base (partial when rotaryDim < dh); null: no rotary (absolute positions). */
  readonly rotary: RotaryTables | null;
  /** Scores are q·k / scoreDivisor: √d_head, or √query_pre_attn_scalar (Gemma). */
  readonly scoreDivisor: number;
  /** Attention-logit soft-cap (Gemma 2: 50), or null. */
  readonly softcap: number | null;
  /** Which mask input this layer attends through: full causal, or the sliding window (Mistral, Gemma 2/3 local layers). */
  readonly window: 'full' | 'sliding';
}

/** q [b, p, h, dh], k and v [b, p, kv, dh] as projected, before any norm or rotary. */
function project(ctx: ForwardContext, x: string, a: AttentionSpec): { q: string; k: string; v: string } {
  const { g } = ctx;
  const { nHeads: h, nKvHeads: kv, dHead: dh } = a;
  switch (a.qkv.kind) {
    case 'separate':
      return {
        q: splitHeads(g, linear(ctx, x, a.qkv.q), h, dh),
        k: splitHeads(g, linear(ctx, x, a.qkv.k), kv, dh),
        v: splitHeads(g, linear(ctx, x, a.qkv.v), kv, dh),
      };
    case 'fused_blocks': {
      const [q, k, v] = g.nodeMulti('Split', [linear(ctx, x, a.qkv.qkv), g.constI64([h * dh, kv * dh, kv * dh])], 3, { axis: { int: -1 } });
      return { q: splitHeads(g, q, h, dh), k: splitHeads(g, k, kv, dh), v: splitHeads(g, v, kv, dh) };
    }
    case 'fused_per_head': {
      const perHead = g.node('Reshape', [linear(ctx, x, a.qkv.qkv), g.constI64([0, 0, h, 3, dh])]); // [b, p, h, 3, dh]
      const [q, k, v] = g.nodeMulti('Split', [perHead, g.constI64([1, 1, 1])], 3, { axis: { int: 3 } });
      const squeeze = (t: string) => g.node('Reshape', [t, g.constI64([0, 0, h, dh])]);
      return { q: squeeze(q), k: squeeze(k), v: squeeze(v) };
    }
  }
}

/** Attention of layer a.layer over input x [b, p, d] (already normed); returns the output projection's result [b, p, d]. */
export function attention(ctx: ForwardContext, x: string, a: AttentionSpec): string {
  const { g } = ctx;
  const L = a.layer;
  const projected = project(ctx, x, a);
  const q = ctx.hook(hookName('blocks.{L}.attn.hook_q', L), projected.q);
  const k = ctx.hook(hookName('blocks.{L}.attn.hook_k', L), projected.k);
  const v = ctx.hook(hookName('blocks.{L}.attn.hook_v', L), projected.v);
  const qn = a.qkNorm ? norm(ctx, q, a.qkNorm.q) : q;
  const kn = a.qkNorm ? norm(ctx, k, a.qkNorm.k) : k;
  const rq = a.rotary ? ctx.hook(hookName('blocks.{L}.attn.hook_rot_q', L), applyRotary(g, qn, a.rotary, a.dHead)) : qn;
  const rk = a.rotary ? ctx.hook(hookName('blocks.{L}.attn.hook_rot_k', L), applyRotary(g, kn, a.rotary, a.dHead)) : kn;
  const z = attend(ctx, rq, rk, v, a);
  return linear(ctx, mergeHeads(g, z), a.out);
}

/**
 * Masked softmax attention. q [b, p, h, dh], k and v [b, p, kv, dh] (after rotary); returns
 * z = pattern · v, [b, p, h, dh], after its hook. Query heads are grouped by the KV head they
 * share (head i uses KV head ⌊i / (h/kv)⌋, as Hugging Face's repeat_kv), so keys and values are
 * never copied h/kv times.
 */
function attend(ctx: ForwardContext, q: string, k: string, v: string, a: AttentionSpec): string {
  const { g } = ctx;
  const L = a.layer;
  const toHeadsFirst = { perm: { ints: [0, 2, 1, 3] } };
  const qh = g.node('Transpose', [q], toHeadsFirst); // [b, h, p, dh]
  const cached = ctx.attendCache(L, g.node('Transpose', [k], toHeadsFirst), g.node('Transpose', [v], toHeadsFirst)); // [b, kv, t, dh]
  const qGrouped = g.node('Reshape', [qh, g.constI64([0, a.nKvHeads, -1, a.dHead])]); // [b, kv, (h/kv)·p, dh]
  const kT = g.node('Transpose', [cached.k], { perm: { ints: [0, 1, 3, 2] } }); // [b, kv, dh, t]
  const raw = g.node('Div', [g.node('MatMul', [qGrouped, kT]), g.constF32([a.scoreDivisor], [], 'score_divisor')]);
  const grouped = g.node('Reshape', [raw, g.constI64([0, a.nHeads, -1, 0])]); // [b, h, p, t]
  const capped = a.softcap === null ? grouped : softcap(g, grouped, a.softcap);
  const mask = a.window === 'sliding' ? ctx.inputs.slidingMask : ctx.inputs.mask;
  // The hook sees masked scores as −inf (TransformerLens' IGNORE); softmax gets the most negative
  // float there instead, so that a row with no visible key (a padding query) gives a uniform
  // pattern rather than NaN, which would leak into real rows through 0·NaN.
  const scores = ctx.hook(hookName('blocks.{L}.attn.hook_attn_scores', L), g.node('Where', [mask, capped, g.constF32([-Infinity], [], 'neg_inf')]));
  const finite = g.node('Where', [mask, scores, g.constF32([-3.4028234663852886e38], [], 'neg_max')]);
  const pattern = ctx.hook(hookName('blocks.{L}.attn.hook_pattern', L), g.node('Softmax', [finite], { axis: { int: -1 } }));
  const patternGrouped = g.node('Reshape', [pattern, g.constI64([0, a.nKvHeads, -1, 0])]); // [b, kv, (h/kv)·p, t]
  const zGrouped = g.node('MatMul', [patternGrouped, cached.v]); // [b, kv, (h/kv)·p, dh]
  const zHeads = g.node('Reshape', [zGrouped, g.constI64([0, a.nHeads, -1, a.dHead])]); // [b, h, p, dh]
  return ctx.hook(hookName('blocks.{L}.attn.hook_z', L), g.node('Transpose', [zHeads], toHeadsFirst)); // [b, p, h, dh]
}
