/**
 * GPT-2 (Radford et al. 2019): learned absolute positions, pre-LayerNorm blocks, GELU MLP, tied
 * embeddings. Checkpoint names are Hugging Face's (GPT2LMHeadModel, with or without the
 * `transformer.` prefix); c_attn, c_proj and c_fc are Conv1D weights stored [in, out].
 */
import { ModelFormatError } from '../../errors.js';
import type { ForwardContext } from '../forward-context.js';
import { hookName } from '../hooks.js';
import { affine, attention, geluErf, geluTanh, layerNormalize, linear, mergeHeads, splitHeads } from '../layers.js';
import { unembed } from '../unembed.js';
import type { ArchConfig, Family, WeightSpec } from './types.js';
import { readActivation, readInt, readNumber } from './config-fields.js';

/** GELU variants GPT-2 checkpoints name in `activation_function`. */
type Gpt2Activation = 'gelu_new' | 'gelu' | 'relu';

export interface Gpt2Config extends ArchConfig {
  readonly family: 'gpt2';
  readonly lnEps: number;
  readonly activation: Gpt2Activation;
}

const ACTIVATIONS: Record<string, Gpt2Activation> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new',
  gelu: 'gelu',
  relu: 'relu',
};

function parseConfig(raw: Readonly<Record<string, unknown>>, path: string): Gpt2Config {
  const dModel = readInt(raw, path, ['n_embd', 'hidden_size']);
  const nHeads = readInt(raw, path, ['n_head', 'num_attention_heads']);
  if (dModel % nHeads !== 0) throw new ModelFormatError(`${path}: n_embd ${dModel} is not divisible by n_head ${nHeads}`, 'check config.json against the checkpoint');
  const inner = raw.n_inner;
  return {
    family: 'gpt2',
    modelType: String(raw.model_type),
    nLayers: readInt(raw, path, ['n_layer', 'num_hidden_layers']),
    dModel,
    nHeads,
    nKvHeads: nHeads,
    dHead: dModel / nHeads,
    dMlp: typeof inner === 'number' ? inner : 4 * dModel,
    vocabSize: readInt(raw, path, ['vocab_size']),
    nCtx: readInt(raw, path, ['n_positions', 'n_ctx', 'max_position_embeddings']),
    lnEps: readNumber(raw, path, ['layer_norm_epsilon'], 1e-5),
    activation: readActivation(raw, path, 'activation_function', ACTIVATIONS, 'gelu_new'),
    features: new Set(['absolute_positions', 'sequential_block']),
    slidingWindow: null,
  };
}

function weightSpecs(c: Gpt2Config, available: ReadonlySet<string>): WeightSpec[] {
  const { dModel: d, dMlp: m, vocabSize: V, nCtx } = c;
  const spec = (name: string, shape: number[]): WeightSpec => ({ name, keys: [name, `transformer.${name}`], shape, layout: 'as_is' });
  const specs = [spec('wte.weight', [V, d]), spec('wpe.weight', [nCtx, d])];
  for (let i = 0; i < c.nLayers; i++) {
    const h = `h.${i}`;
    specs.push(
      spec(`${h}.ln_1.weight`, [d]), spec(`${h}.ln_1.bias`, [d]),
      spec(`${h}.attn.c_attn.weight`, [d, 3 * d]), spec(`${h}.attn.c_attn.bias`, [3 * d]),
      spec(`${h}.attn.c_proj.weight`, [d, d]), spec(`${h}.attn.c_proj.bias`, [d]),
      spec(`${h}.ln_2.weight`, [d]), spec(`${h}.ln_2.bias`, [d]),
      spec(`${h}.mlp.c_fc.weight`, [d, m]), spec(`${h}.mlp.c_fc.bias`, [m]),
      spec(`${h}.mlp.c_proj.weight`, [m, d]), spec(`${h}.mlp.c_proj.bias`, [d]),
    );
  }
  specs.push(spec('ln_f.weight', [d]), spec('ln_f.bias', [d]));
  // GPT-2 ties the unembedding to wte; an explicit lm_head (an untied fine-tune) takes precedence.
  if (available.has('lm_head.weight')) specs.push({ name: 'lm_head.weight', keys: ['lm_head.weight'], shape: [V, d], layout: 'as_is' });
  return specs;
}

function activate(ctx: ForwardContext, c: Gpt2Config, x: string): string {
  switch (c.activation) {
    case 'gelu_new': return geluTanh(ctx.g, x);
    case 'gelu': return geluErf(ctx.g, x);
    case 'relu': return ctx.g.node('Relu', [x]);
  }
}

/** One block: resid_pre → attention branch → resid_mid → MLP branch → resid_post. */
function block(ctx: ForwardContext, c: Gpt2Config, L: number, residPre: string): string {
  const { g } = ctx;
  const h = `h.${L}`;
  const x = ctx.hook(hookName('blocks.{L}.hook_resid_pre', L), residPre);

  const n1 = ctx.hook(hookName('blocks.{L}.ln1.hook_normalized', L), layerNormalize(g, x, c.dModel, c.lnEps));
  const qkv = linear(ctx, affine(ctx, n1, `${h}.ln_1.weight`, `${h}.ln_1.bias`), `${h}.attn.c_attn.weight`, `${h}.attn.c_attn.bias`);
  const [qf, kf, vf] = g.nodeMulti('Split', [qkv, g.constI64([c.dModel, c.dModel, c.dModel])], 3, { axis: { int: -1 } });
  const q = ctx.hook(hookName('blocks.{L}.attn.hook_q', L), splitHeads(g, qf, c.nHeads, c.dHead));
  const k = ctx.hook(hookName('blocks.{L}.attn.hook_k', L), splitHeads(g, kf, c.nHeads, c.dHead));
  const v = ctx.hook(hookName('blocks.{L}.attn.hook_v', L), splitHeads(g, vf, c.nHeads, c.dHead));
  const z = attention(ctx, q, k, v, { layer: L, nHeads: c.nHeads, nKvHeads: c.nHeads, dHead: c.dHead });
  const attnOut = ctx.hook(hookName('blocks.{L}.hook_attn_out', L), linear(ctx, mergeHeads(g, z), `${h}.attn.c_proj.weight`, `${h}.attn.c_proj.bias`));
  const mid = ctx.hook(hookName('blocks.{L}.hook_resid_mid', L), g.node('Add', [x, attnOut]));

  const n2 = ctx.hook(hookName('blocks.{L}.ln2.hook_normalized', L), layerNormalize(g, mid, c.dModel, c.lnEps));
  const pre = ctx.hook(hookName('blocks.{L}.mlp.hook_pre', L), linear(ctx, affine(ctx, n2, `${h}.ln_2.weight`, `${h}.ln_2.bias`), `${h}.mlp.c_fc.weight`, `${h}.mlp.c_fc.bias`));
  const post = ctx.hook(hookName('blocks.{L}.mlp.hook_post', L), activate(ctx, c, pre));
  const mlpOut = ctx.hook(hookName('blocks.{L}.hook_mlp_out', L), linear(ctx, post, `${h}.mlp.c_proj.weight`, `${h}.mlp.c_proj.bias`));
  return ctx.hook(hookName('blocks.{L}.hook_resid_post', L), g.node('Add', [mid, mlpOut]));
}

function forward(ctx: ForwardContext, c: Gpt2Config): void {
  const { g } = ctx;
  const embed = ctx.hook(hookName('hook_embed'), g.node('Gather', [ctx.w('wte.weight'), ctx.inputs.ids], { axis: { int: 0 } }));
  const posEmbed = ctx.hook(hookName('hook_pos_embed'), g.node('Gather', [ctx.w('wpe.weight'), ctx.inputs.positions], { axis: { int: 0 } }));
  let resid = g.node('Add', [embed, posEmbed]);
  for (let L = 0; L < c.nLayers; L++) resid = block(ctx, c, L, resid);
  const normalized = ctx.hook(hookName('ln_final.hook_normalized'), layerNormalize(g, resid, c.dModel, c.lnEps));
  const final = affine(ctx, normalized, 'ln_f.weight', 'ln_f.bias');
  const head = ctx.hasWeight('lm_head.weight') ? 'lm_head.weight' : 'wte.weight';
  ctx.hook(hookName('logits'), unembed(ctx, final, head, c.dModel, c.vocabSize));
}

export const gpt2: Family<Gpt2Config> = {
  name: 'gpt2',
  modelTypes: ['gpt2'],
  parseConfig,
  weightSpecs,
  // Causal-mask buffers that older Hugging Face GPT-2 checkpoints store.
  ignoredKeys: [/(^|\.)attn\.bias$/, /(^|\.)attn\.masked_bias$/],
  forward,
};
