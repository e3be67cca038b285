/**
 * GPT-NeoX (Black et al. 2022) and the Pythia suite (Biderman et al. 2023): LayerNorm blocks with
 * attention and MLP in parallel (use_parallel_residual: both read resid_pre, so there is no
 * resid_mid), partial rotary (the first rotary_pct of each head's dims, rotate_half layout), one
 * fused query_key_value projection interleaved per head, exact-erf GELU MLP, biases everywhere,
 * an untied `embed_out`. Checkpoint names are Hugging Face's GPTNeoXForCausalLM (nn.Linear [out, in]).
 */
import { ModelFormatError, describeValue } from '../../errors.js';
import { embed, head, transformerBlock } from '../block.js';
import type { BlockNorm, BlockSpec } from '../block.js';
import type { ForwardContext } from '../forward-context.js';
import { rotaryTables } from '../layers.js';
import type { Activation, RotaryTables } from '../layers.js';
import { HF_ACTIVATIONS, readActivation, readBool, readInt, readNumber } from './config-fields.js';
import { MAX_HEAD_DIM, scaledInverseFrequencies } from './llama.js';
import type { ArchConfig, BlockNorms, Family, Unembedding, WeightSpec } from './types.js';

export interface NeoxConfig extends ArchConfig {
  readonly family: 'gpt_neox';
  readonly lnEps: number;
  /** Rotated dims per head, int(d_head · rotary_pct); the rest pass through. */
  readonly rotaryDim: number;
  readonly invFreq: Float64Array;
  readonly parallel: boolean;
  readonly activation: Activation;
  readonly tiedEmbeddings: boolean;
}

function parseConfig(raw: Readonly<Record<string, unknown>>, path: string): NeoxConfig {
  const dModel = readInt(raw, path, ['hidden_size']);
  const nHeads = readInt(raw, path, ['num_attention_heads']);
  if (dModel % nHeads !== 0) throw new ModelFormatError(`${path}: hidden_size ${dModel} is not divisible by num_attention_heads ${nHeads}`, 'check config.json against the checkpoint');
  const dHead = dModel / nHeads;
  if (dHead > MAX_HEAD_DIM) throw new ModelFormatError(`${path}: head dimension ${dHead} is above ${MAX_HEAD_DIM}, wider than any released model's`, 'check hidden_size and num_attention_heads in config.json');
  // transformers renamed rotary_pct → partial_rotary_factor and rotary_emb_base → rope_theta; both spellings occur on the hub.
  const pct = readNumber(raw, path, ['rotary_pct', 'partial_rotary_factor'], 1);
  if (!(pct > 0 && pct <= 1)) throw new ModelFormatError(`${path}: "rotary_pct" must be in (0, 1], got ${describeValue(raw.rotary_pct ?? raw.partial_rotary_factor)}`, 'fix config.json (Pythia uses 0.25)');
  const rotaryDim = Math.floor(dHead * pct);
  if (rotaryDim < 2 || rotaryDim % 2 !== 0) {
    throw new ModelFormatError(`${path}: rotary_pct ${pct} of head dimension ${dHead} gives ${rotaryDim} rotary dims, which must be even and at least 2`, 'fix rotary_pct in config.json');
  }
  const theta = readNumber(raw, path, ['rotary_emb_base', 'rope_theta'], 10000);
  return {
    family: 'gpt_neox',
    modelType: String(raw.model_type),
    nLayers: readInt(raw, path, ['num_hidden_layers']),
    dModel,
    nHeads,
    nKvHeads: nHeads,
    dHead,
    dMlp: readInt(raw, path, ['intermediate_size']),
    vocabSize: readInt(raw, path, ['vocab_size']),
    nCtx: readInt(raw, path, ['max_position_embeddings'], 2048),
    lnEps: readNumber(raw, path, ['layer_norm_eps'], 1e-5),
    rotaryDim,
    invFreq: scaledInverseFrequencies(raw, path, rotaryDim, theta),
    parallel: readBool(raw, path, 'use_parallel_residual', true),
    activation: readActivation(raw, path, 'hidden_act', HF_ACTIVATIONS, 'gelu_erf'),
    tiedEmbeddings: readBool(raw, path, 'tie_word_embeddings', false),
    slidingWindow: null,
    features: new Set(['rotary', ...(readBool(raw, path, 'use_parallel_residual', true) ? [] : ['sequential_block' as const])]),
  };
}

function weightSpecs(c: NeoxConfig, available: ReadonlySet<string>): WeightSpec[] {
  const { dModel: d, dMlp: m, vocabSize: V } = c;
  const asIs = (name: string, shape: number[]): WeightSpec => ({ name, keys: [name], shape, layout: 'as_is' });
  const linearW = (name: string, out: number, inp: number): WeightSpec => ({ name, keys: [name], shape: [out, inp], layout: 'transpose' });
  // attention_bias: false checkpoints have no q/k/v or dense bias.
  const bias = (name: string, n: number): WeightSpec[] => (available.has(name) ? [asIs(name, [n])] : []);
  const specs: WeightSpec[] = [asIs('gpt_neox.embed_in.weight', [V, d])];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `gpt_neox.layers.${i}`;
    specs.push(
      asIs(`${p}.input_layernorm.weight`, [d]), asIs(`${p}.input_layernorm.bias`, [d]),
      linearW(`${p}.attention.query_key_value.weight`, 3 * d, d), ...bias(`${p}.attention.query_key_value.bias`, 3 * d),
      linearW(`${p}.attention.dense.weight`, d, d), ...bias(`${p}.attention.dense.bias`, d),
      asIs(`${p}.post_attention_layernorm.weight`, [d]), asIs(`${p}.post_attention_layernorm.bias`, [d]),
      linearW(`${p}.mlp.dense_h_to_4h.weight`, m, d), ...bias(`${p}.mlp.dense_h_to_4h.bias`, m),
      linearW(`${p}.mlp.dense_4h_to_h.weight`, d, m), ...bias(`${p}.mlp.dense_4h_to_h.bias`, d),
    );
  }
  specs.push(asIs('gpt_neox.final_layer_norm.weight', [d]), asIs('gpt_neox.final_layer_norm.bias', [d]));
  if (!c.tiedEmbeddings || available.has('embed_out.weight')) specs.push(asIs('embed_out.weight', [V, d]));
  return specs;
}

function blockNorms(c: NeoxConfig, L: number): BlockNorms {
  const ln = (name: string): BlockNorm => ({ kind: 'layer', eps: c.lnEps, weight: `gpt_neox.layers.${L}.${name}.weight`, bias: `gpt_neox.layers.${L}.${name}.bias` });
  // Hugging Face calls the MLP's norm post_attention_layernorm; in a parallel block it reads resid_pre.
  return { ln1: ln('input_layernorm'), ln2: ln('post_attention_layernorm') };
}

function block(c: NeoxConfig, rope: RotaryTables, L: number): BlockSpec {
  const p = `gpt_neox.layers.${L}`;
  const norms = blockNorms(c, L);
  const lin = (name: string) => ({ weight: `${p}.${name}.weight`, bias: `${p}.${name}.bias` });
  return {
    layer: L,
    ln1: norms.ln1,
    attn: {
      nHeads: c.nHeads, nKvHeads: c.nHeads, dHead: c.dHead,
      qkv: { kind: 'fused_per_head', qkv: lin('attention.query_key_value') },
      out: lin('attention.dense'),
      qkNorm: null, rotary: rope, scoreDivisor: Math.sqrt(c.dHead), softcap: null, window: 'full',
    },
    ln1Post: null,
    ln2: norms.ln2,
    mlp: { kind: 'plain', in: lin('mlp.dense_h_to_4h'), out: lin('mlp.dense_4h_to_h'), act: c.activation },
    ln2Post: null,
    parallel: c.parallel,
  };
}

function unembedding(_c: NeoxConfig, available: ReadonlySet<string>): Unembedding {
  return { normWeight: 'gpt_neox.final_layer_norm.weight', normUnitOffset: false, unembed: available.has('embed_out.weight') ? 'embed_out.weight' : 'gpt_neox.embed_in.weight' };
}

function forward(ctx: ForwardContext, c: NeoxConfig): void {
  const rope = rotaryTables(ctx.g, ctx.inputs.positions, c.invFreq);
  let resid = embed(ctx, 'gpt_neox.embed_in.weight');
  for (let L = 0; L < c.nLayers; L++) resid = transformerBlock(ctx, resid, block(c, rope, L));
  const unembed = ctx.hasWeight('embed_out.weight') ? 'embed_out.weight' : 'gpt_neox.embed_in.weight';
  head(ctx, resid, { norm: { kind: 'layer', eps: c.lnEps, weight: 'gpt_neox.final_layer_norm.weight', bias: 'gpt_neox.final_layer_norm.bias' }, unembed, dModel: c.dModel, vocabSize: c.vocabSize, softcap: null });
}

export const gptNeox: Family<NeoxConfig> = {
  name: 'gpt_neox',
  modelTypes: ['gpt_neox'],
  parseConfig,
  weightSpecs,
  // Causal-mask and rotary buffers that GPT-NeoX checkpoints store; rebuilt from the config instead.
  ignoredKeys: [/\.attention\.bias$/, /\.attention\.masked_bias$/, /rotary_emb\.inv_freq$/],
  forward,
  unembedding,
  blockNorms,
};
