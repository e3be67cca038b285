/**
 * The one transformer block every family builds, in the spirit of TransformerLens'
 * TransformerBlock: a few lines that read like the residual stream, with per-family and
 * per-layer switches in a BlockSpec (never a family name). Hooks are applied where each value is
 * made, so `hook_attn_out` / `hook_mlp_out` are what is added to the residual (after a post-norm
 * where the model has one).
 *
 *   sequential:  mid  = pre + post1(attn(ln1(pre)))      post = mid + post2(mlp(ln2(mid)))
 *   parallel:    post = pre + attn(ln1(pre)) + mlp(ln2(pre))                 (GPT-NeoX, GPT-J)
 *
 * Vocabulary: b = batch, p = positions, d = d_model, m = d_mlp, V = vocabulary.
 */
import { attention } from './attention.js';
import type { AttentionSpec } from './attention.js';
import type { ForwardContext } from './forward-context.js';
import { hookName } from '../hooks.js';
import { activate, linear, norm, softcap } from './layers.js';
import type { Activation, LinearSpec, NormSpec } from './layers.js';
import { unembed } from './unembed.js';

/**
 * `plain`: down(act(in(x))) (GPT-2, GPT-NeoX). `gated`: down(act(gate(x)) · up(x)) (SwiGLU in
 * Llama/Qwen, GeGLU in Gemma); `fused_gate_up` is one projection whose output is [gate | up] (Phi-3).
 */
export type MlpSpec =
  | { readonly kind: 'plain'; readonly in: LinearSpec; readonly out: LinearSpec; readonly act: Activation }
  | { readonly kind: 'gated'; readonly gate: LinearSpec; readonly up: LinearSpec; readonly down: LinearSpec; readonly act: Activation }
  | { readonly kind: 'fused_gate_up'; readonly gateUp: LinearSpec; readonly dMlp: number; readonly down: LinearSpec; readonly act: Activation };

/** Norm weights without their hook names (the builder names the hooks by position). */
export type BlockNorm = Omit<NormSpec, 'hooks'>;

export interface BlockSpec {
  readonly layer: number;
  /** Norm before attention. */
  readonly ln1: BlockNorm;
  readonly attn: Omit<AttentionSpec, 'layer'>;
  /** Norm of the attention output before it joins the residual (Gemma 2/3 post_attention_layernorm); null: none. */
  readonly ln1Post: BlockNorm | null;
  /** Norm before the MLP. */
  readonly ln2: BlockNorm;
  readonly mlp: MlpSpec;
  /** Norm of the MLP output before it joins the residual (Gemma 2/3 post_feedforward_layernorm); null: none. */
  readonly ln2Post: BlockNorm | null;
  /** Attention and MLP both read resid_pre, and there is no resid_mid (GPT-NeoX use_parallel_residual). */
  readonly parallel: boolean;
}

/** A norm of block L with its hooks, e.g. `blocks.3.ln1.hook_scale` and `blocks.3.ln1.hook_normalized`. */
function hooked(n: BlockNorm, L: number, which: 'ln1' | 'ln2' | 'ln1_post' | 'ln2_post'): NormSpec {
  return { ...n, hooks: { scale: hookName(`blocks.{L}.${which}.hook_scale`, L), normalized: hookName(`blocks.{L}.${which}.hook_normalized`, L) } };
}

function mlp(ctx: ForwardContext, x: string, m: MlpSpec, L: number): string {
  const { g } = ctx;
  const pre = (t: string) => ctx.hook(hookName('blocks.{L}.mlp.hook_pre', L), t);
  const preLinear = (t: string) => ctx.hook(hookName('blocks.{L}.mlp.hook_pre_linear', L), t);
  const post = (t: string) => ctx.hook(hookName('blocks.{L}.mlp.hook_post', L), t);
  switch (m.kind) {
    case 'plain':
      return linear(ctx, post(activate(g, pre(linear(ctx, x, m.in)), m.act)), m.out);
    case 'gated': {
      const gate = pre(linear(ctx, x, m.gate));
      const up = preLinear(linear(ctx, x, m.up));
      return linear(ctx, post(g.node('Mul', [activate(g, gate, m.act), up])), m.down);
    }
    case 'fused_gate_up': {
      const [gateRaw, upRaw] = g.nodeMulti('Split', [linear(ctx, x, m.gateUp), g.constI64([m.dMlp, m.dMlp])], 2, { axis: { int: -1 } });
      const gate = pre(gateRaw);
      const up = preLinear(upRaw);
      return linear(ctx, post(g.node('Mul', [activate(g, gate, m.act), up])), m.down);
    }
  }
}

/** One block: resid_pre → attention branch → (resid_mid) → MLP branch → resid_post. [b, p, d] → [b, p, d]. */
export function transformerBlock(ctx: ForwardContext, residPre: string, s: BlockSpec): string {
  const { g } = ctx;
  const L = s.layer;
  const pre = ctx.hook(hookName('blocks.{L}.hook_resid_pre', L), residPre);

  const attnRaw = attention(ctx, norm(ctx, pre, hooked(s.ln1, L, 'ln1')), { ...s.attn, layer: L });
  const attnOut = ctx.hook(hookName('blocks.{L}.hook_attn_out', L), s.ln1Post ? norm(ctx, attnRaw, hooked(s.ln1Post, L, 'ln1_post')) : attnRaw);
  const mid = s.parallel ? pre : ctx.hook(hookName('blocks.{L}.hook_resid_mid', L), g.node('Add', [pre, attnOut]));

  const mlpRaw = mlp(ctx, norm(ctx, mid, hooked(s.ln2, L, 'ln2')), s.mlp, L);
  const mlpOut = ctx.hook(hookName('blocks.{L}.hook_mlp_out', L), s.ln2Post ? norm(ctx, mlpRaw, hooked(s.ln2Post, L, 'ln2_post')) : mlpRaw);
  const sum = s.parallel ? g.node('Add', [g.node('Add', [pre, attnOut]), mlpOut]) : g.node('Add', [mid, mlpOut]);
  return ctx.hook(hookName('blocks.{L}.hook_resid_post', L), sum);
}

/** Token embedding W_E[ids], times `scale` where the model scales it (Gemma: √d_model); the hook sees the scaled value. [b, p] → [b, p, d]. */
export function embed(ctx: ForwardContext, weight: string, scale: number | null = null): string {
  const { g } = ctx;
  const gathered = g.node('Gather', [ctx.w(weight), ctx.inputs.ids], { axis: { int: 0 } });
  return ctx.hook(hookName('hook_embed'), scale === null ? gathered : g.node('Mul', [gathered, g.constF32([scale], [], 'embed_scale')]));
}

/** What follows the last block: the final norm, the unembedding ([V, d] as stored) and an optional logit soft-cap. */
export interface HeadSpec {
  readonly norm: BlockNorm;
  /** Unembedding weight stored [V, d]: lm_head, or the input embedding when tied. */
  readonly unembed: string;
  readonly dModel: number;
  readonly vocabSize: number;
  /** Final-logit soft-cap (Gemma 2: 30), or null. */
  readonly softcap: number | null;
}

/** Final norm → logits. [b, p, d] → [b, p, V], after the `logits` hook. */
export function head(ctx: ForwardContext, resid: string, h: HeadSpec): string {
  const final = norm(ctx, resid, { ...h.norm, hooks: { scale: hookName('ln_final.hook_scale'), normalized: hookName('ln_final.hook_normalized') } });
  const logits = unembed(ctx, final, h.unembed, h.dModel, h.vocabSize);
  return ctx.hook(hookName('logits'), h.softcap === null ? logits : softcap(ctx.g, logits, h.softcap));
}
