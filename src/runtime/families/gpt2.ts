/**
 * GPT-2 (Radford et al. 2019): learned absolute positions, pre-LayerNorm blocks, GELU MLP, tied
 * embeddings. Checkpoint names are Hugging Face's (GPT2LMHeadModel, with or without the
 * `transformer.` prefix); c_attn, c_proj and c_fc are Conv1D weights stored [in, out].
 */
import { ModelFormatError } from '../../errors.js';
import { embed, head, transformerBlock } from '../block.js';
import type { BlockNorm, BlockSpec } from '../block.js';
import type { ForwardContext } from '../forward-context.js';
import { hookName } from '../../hooks.js';
import type { Activation } from '../layers.js';
import type { ArchConfig, BlockNorms, Family, Unembedding, WeightSpec } from './types.js';
import { HF_ACTIVATIONS, readActivation, readInt, readNumber } from './config-fields.js';

export interface Gpt2Config extends ArchConfig {
  readonly family: 'gpt2';
  readonly lnEps: number;
  readonly activation: Activation;
}

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
    activation: readActivation(raw, path, 'activation_function', HF_ACTIVATIONS, 'gelu_tanh'),
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

function blockNorms(c: Gpt2Config, L: number): BlockNorms {
  const ln = (name: string): BlockNorm => ({ kind: 'layer', eps: c.lnEps, weight: `h.${L}.${name}.weight`, bias: `h.${L}.${name}.bias` });
  return { ln1: ln('ln_1'), ln2: ln('ln_2') };
}

function block(c: Gpt2Config, L: number): BlockSpec {
  const h = `h.${L}`;
  const norms = blockNorms(c, L);
  return {
    layer: L,
    ln1: norms.ln1,
    attn: {
      nHeads: c.nHeads, nKvHeads: c.nHeads, dHead: c.dHead,
      qkv: { kind: 'fused_blocks', qkv: { weight: `${h}.attn.c_attn.weight`, bias: `${h}.attn.c_attn.bias` } },
      out: { weight: `${h}.attn.c_proj.weight`, bias: `${h}.attn.c_proj.bias` },
      qkNorm: null, rotary: null, scoreDivisor: Math.sqrt(c.dHead), softcap: null, window: 'full',
    },
    ln1Post: null,
    ln2: norms.ln2,
    mlp: { kind: 'plain', in: { weight: `${h}.mlp.c_fc.weight`, bias: `${h}.mlp.c_fc.bias` }, out: { weight: `${h}.mlp.c_proj.weight`, bias: `${h}.mlp.c_proj.bias` }, act: c.activation },
    ln2Post: null,
    parallel: false,
  };
}

function unembedding(_c: Gpt2Config, available: ReadonlySet<string>): Unembedding {
  return { normWeight: 'ln_f.weight', normUnitOffset: false, unembed: available.has('lm_head.weight') ? 'lm_head.weight' : 'wte.weight' };
}

function forward(ctx: ForwardContext, c: Gpt2Config): void {
  const { g } = ctx;
  const tokens = embed(ctx, 'wte.weight');
  const positions = ctx.hook(hookName('hook_pos_embed'), g.node('Gather', [ctx.w('wpe.weight'), ctx.inputs.positions], { axis: { int: 0 } }));
  let resid = g.node('Add', [tokens, positions]);
  for (let L = 0; L < c.nLayers; L++) resid = transformerBlock(ctx, resid, block(c, L));
  const unembed = ctx.hasWeight('lm_head.weight') ? 'lm_head.weight' : 'wte.weight';
  head(ctx, resid, { norm: { kind: 'layer', eps: c.lnEps, weight: 'ln_f.weight', bias: 'ln_f.bias' }, unembed, dModel: c.dModel, vocabSize: c.vocabSize, softcap: null });
}

export const gpt2: Family<Gpt2Config> = {
  name: 'gpt2',
  modelTypes: ['gpt2'],
  parseConfig,
  weightSpecs,
  // Causal-mask buffers that older Hugging Face GPT-2 checkpoints store.
  ignoredKeys: [/(^|\.)attn\.bias$/, /(^|\.)attn\.masked_bias$/],
  forward,
  unembedding,
  blockNorms,
};
