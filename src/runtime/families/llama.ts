/**
 * Llama (Touvron et al. 2023) and its close relatives — Mistral, Qwen2 (q/k/v bias), TinyLlama,
 * SmolLM: rotary positions, pre-RMSNorm blocks, SwiGLU MLP, grouped-query attention, tied or
 * untied embeddings. Checkpoint names are Hugging Face's LlamaForCausalLM; projections are
 * nn.Linear weights stored [out, in] and cached transposed.
 */
import { ModelFormatError, describeValue } from '../../errors.js';
import type { ForwardContext } from '../forward-context.js';
import { hookName } from '../hooks.js';
import { affine, applyRotary, attention, geluTanh, linear, mergeHeads, rmsNormalize, ropeInverseFrequencies, rotaryTables, silu, splitHeads } from '../layers.js';
import { unembed } from '../unembed.js';
import type { RotaryTables } from '../layers.js';
import { readActivation, readBool, readInt, readNumber } from './config-fields.js';
import type { ArchConfig, Family, WeightSpec } from './types.js';

type LlamaActivation = 'silu' | 'gelu_tanh';

export interface LlamaConfig extends ArchConfig {
  readonly family: 'llama';
  readonly rmsEps: number;
  readonly ropeTheta: number;
  /** rotaryDim/2 inverse frequencies, after any rope_scaling. */
  readonly invFreq: Float64Array;
  readonly activation: LlamaActivation;
  readonly tiedEmbeddings: boolean;
}

/** Head dimensions of released models are 64 to 256; anything past this is a damaged config. */
const MAX_HEAD_DIM = 8192;

const ACTIVATIONS: Record<string, LlamaActivation> = { silu: 'silu', swish: 'silu', gelu_pytorch_tanh: 'gelu_tanh' };

/**
 * Inverse frequencies with rope_scaling applied. Supported: none/"default", "linear" (positions
 * divided by factor), and "llama3" (Llama 3.1's frequency-dependent rescaling, as in Hugging
 * Face's _compute_llama3_parameters).
 */
function scaledInverseFrequencies(raw: Readonly<Record<string, unknown>>, path: string, dHead: number, theta: number): Float64Array {
  const base = ropeInverseFrequencies(dHead, theta);
  const scaling = raw.rope_scaling as Record<string, unknown> | null | undefined;
  if (scaling === undefined || scaling === null) return base;
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'default') return base;
  const factor = readNumber(scaling, `${path} rope_scaling`, ['factor']);
  if (type === 'linear') return base.map((f) => f / factor);
  if (type === 'llama3') {
    const low = readNumber(scaling, `${path} rope_scaling`, ['low_freq_factor']);
    const high = readNumber(scaling, `${path} rope_scaling`, ['high_freq_factor']);
    const original = readNumber(scaling, `${path} rope_scaling`, ['original_max_position_embeddings']);
    const lowWavelen = original / low;
    const highWavelen = original / high;
    return base.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / factor;
      const smooth = (original / wavelen - low) / (high - low);
      return (1 - smooth) * (f / factor) + smooth * f;
    });
  }
  throw new ModelFormatError(`${path}: rope_scaling type ${describeValue(type)} is not supported`, 'interp supports rope_scaling "linear" and "llama3" (or none)');
}

function parseConfig(raw: Readonly<Record<string, unknown>>, path: string): LlamaConfig {
  const dModel = readInt(raw, path, ['hidden_size']);
  const nHeads = readInt(raw, path, ['num_attention_heads']);
  const nKvHeads = readInt(raw, path, ['num_key_value_heads'], nHeads);
  if (nHeads % nKvHeads !== 0) {
    throw new ModelFormatError(`${path}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`, 'check config.json against the checkpoint');
  }
  const dHead = readInt(raw, path, ['head_dim'], dModel / nHeads);
  if (!Number.isInteger(dHead) || dHead % 2 !== 0) {
    throw new ModelFormatError(`${path}: head dimension ${dHead} must be an even integer`, 'set head_dim in config.json');
  }
  // The rotary tables below have dHead/2 entries: a damaged hidden_size must not size them.
  if (dHead > MAX_HEAD_DIM) {
    throw new ModelFormatError(`${path}: head dimension ${dHead} (hidden_size / num_attention_heads, or head_dim) is above ${MAX_HEAD_DIM}, wider than any released model's`, 'check hidden_size, num_attention_heads and head_dim in config.json');
  }
  const ropeTheta = readNumber(raw, path, ['rope_theta'], 10000);
  const window = raw.sliding_window;
  return {
    family: 'llama',
    modelType: String(raw.model_type),
    nLayers: readInt(raw, path, ['num_hidden_layers']),
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: readInt(raw, path, ['intermediate_size']),
    vocabSize: readInt(raw, path, ['vocab_size']),
    nCtx: readInt(raw, path, ['max_position_embeddings'], 2048),
    rmsEps: readNumber(raw, path, ['rms_norm_eps'], 1e-6),
    ropeTheta,
    invFreq: scaledInverseFrequencies(raw, path, dHead, ropeTheta),
    activation: readActivation(raw, path, 'hidden_act', ACTIVATIONS, 'silu'),
    tiedEmbeddings: readBool(raw, path, 'tie_word_embeddings', false),
    slidingWindow: typeof window === 'number' && raw.use_sliding_window !== false ? window : null,
    features: new Set(['rotary', 'gated_mlp', 'sequential_block']),
  };
}

function weightSpecs(c: LlamaConfig, available: ReadonlySet<string>): WeightSpec[] {
  const { dModel: d, dMlp: m, vocabSize: V, nHeads: h, nKvHeads: kv, dHead: dh } = c;
  const asIs = (name: string, shape: number[]): WeightSpec => ({ name, keys: [name], shape, layout: 'as_is' });
  const linearW = (name: string, out: number, inp: number): WeightSpec => ({ name, keys: [name], shape: [out, inp], layout: 'transpose' });
  // Optional biases (Qwen2's q/k/v, attention_bias / mlp_bias configs) are read when the checkpoint has them.
  const bias = (name: string, n: number): WeightSpec[] => (available.has(name) ? [asIs(name, [n])] : []);
  const specs: WeightSpec[] = [asIs('model.embed_tokens.weight', [V, d])];
  for (let i = 0; i < c.nLayers; i++) {
    const a = `model.layers.${i}.self_attn`;
    const f = `model.layers.${i}.mlp`;
    specs.push(
      asIs(`model.layers.${i}.input_layernorm.weight`, [d]),
      linearW(`${a}.q_proj.weight`, h * dh, d), ...bias(`${a}.q_proj.bias`, h * dh),
      linearW(`${a}.k_proj.weight`, kv * dh, d), ...bias(`${a}.k_proj.bias`, kv * dh),
      linearW(`${a}.v_proj.weight`, kv * dh, d), ...bias(`${a}.v_proj.bias`, kv * dh),
      linearW(`${a}.o_proj.weight`, d, h * dh), ...bias(`${a}.o_proj.bias`, d),
      asIs(`model.layers.${i}.post_attention_layernorm.weight`, [d]),
      linearW(`${f}.gate_proj.weight`, m, d), ...bias(`${f}.gate_proj.bias`, m),
      linearW(`${f}.up_proj.weight`, m, d), ...bias(`${f}.up_proj.bias`, m),
      linearW(`${f}.down_proj.weight`, d, m), ...bias(`${f}.down_proj.bias`, d),
    );
  }
  specs.push(asIs('model.norm.weight', [d]));
  // Untied models need lm_head; tied ones may still store a copy (llama2.c's export does), which is then used.
  if (!c.tiedEmbeddings || available.has('lm_head.weight')) specs.push(asIs('lm_head.weight', [V, d]));
  return specs;
}

function activate(ctx: ForwardContext, c: LlamaConfig, x: string): string {
  switch (c.activation) {
    case 'silu': return silu(ctx.g, x);
    case 'gelu_tanh': return geluTanh(ctx.g, x);
  }
}

/** One block: resid_pre → attention branch → resid_mid → gated MLP branch → resid_post. */
function block(ctx: ForwardContext, c: LlamaConfig, rope: RotaryTables, L: number, residPre: string): string {
  const { g } = ctx;
  const a = `model.layers.${L}.self_attn`;
  const f = `model.layers.${L}.mlp`;
  const x = ctx.hook(hookName('blocks.{L}.hook_resid_pre', L), residPre);

  const n1 = ctx.hook(hookName('blocks.{L}.ln1.hook_normalized', L), rmsNormalize(g, x, c.rmsEps));
  const attnIn = affine(ctx, n1, `model.layers.${L}.input_layernorm.weight`);
  const q = ctx.hook(hookName('blocks.{L}.attn.hook_q', L), splitHeads(g, linear(ctx, attnIn, `${a}.q_proj.weight`, `${a}.q_proj.bias`), c.nHeads, c.dHead));
  const k = ctx.hook(hookName('blocks.{L}.attn.hook_k', L), splitHeads(g, linear(ctx, attnIn, `${a}.k_proj.weight`, `${a}.k_proj.bias`), c.nKvHeads, c.dHead));
  const v = ctx.hook(hookName('blocks.{L}.attn.hook_v', L), splitHeads(g, linear(ctx, attnIn, `${a}.v_proj.weight`, `${a}.v_proj.bias`), c.nKvHeads, c.dHead));
  const rq = ctx.hook(hookName('blocks.{L}.attn.hook_rot_q', L), applyRotary(g, q, rope, c.dHead));
  const rk = ctx.hook(hookName('blocks.{L}.attn.hook_rot_k', L), applyRotary(g, k, rope, c.dHead));
  const z = attention(ctx, rq, rk, v, { layer: L, nHeads: c.nHeads, nKvHeads: c.nKvHeads, dHead: c.dHead });
  const attnOut = ctx.hook(hookName('blocks.{L}.hook_attn_out', L), linear(ctx, mergeHeads(g, z), `${a}.o_proj.weight`, `${a}.o_proj.bias`));
  const mid = ctx.hook(hookName('blocks.{L}.hook_resid_mid', L), g.node('Add', [x, attnOut]));

  const n2 = ctx.hook(hookName('blocks.{L}.ln2.hook_normalized', L), rmsNormalize(g, mid, c.rmsEps));
  const mlpIn = affine(ctx, n2, `model.layers.${L}.post_attention_layernorm.weight`);
  const gate = ctx.hook(hookName('blocks.{L}.mlp.hook_pre', L), linear(ctx, mlpIn, `${f}.gate_proj.weight`, `${f}.gate_proj.bias`));
  const up = ctx.hook(hookName('blocks.{L}.mlp.hook_pre_linear', L), linear(ctx, mlpIn, `${f}.up_proj.weight`, `${f}.up_proj.bias`));
  const post = ctx.hook(hookName('blocks.{L}.mlp.hook_post', L), g.node('Mul', [activate(ctx, c, gate), up]));
  const mlpOut = ctx.hook(hookName('blocks.{L}.hook_mlp_out', L), linear(ctx, post, `${f}.down_proj.weight`, `${f}.down_proj.bias`));
  return ctx.hook(hookName('blocks.{L}.hook_resid_post', L), g.node('Add', [mid, mlpOut]));
}

function forward(ctx: ForwardContext, c: LlamaConfig): void {
  const { g } = ctx;
  const rope = rotaryTables(g, ctx.inputs.positions, c.invFreq);
  let resid = ctx.hook(hookName('hook_embed'), g.node('Gather', [ctx.w('model.embed_tokens.weight'), ctx.inputs.ids], { axis: { int: 0 } }));
  for (let L = 0; L < c.nLayers; L++) resid = block(ctx, c, rope, L, resid);
  const normalized = ctx.hook(hookName('ln_final.hook_normalized'), rmsNormalize(g, resid, c.rmsEps));
  const final = affine(ctx, normalized, 'model.norm.weight');
  const head = ctx.hasWeight('lm_head.weight') ? 'lm_head.weight' : 'model.embed_tokens.weight';
  ctx.hook(hookName('logits'), unembed(ctx, final, head, c.dModel, c.vocabSize));
}

export const llama: Family<LlamaConfig> = {
  name: 'llama',
  modelTypes: ['llama', 'mistral', 'qwen2'],
  parseConfig,
  weightSpecs,
  // Rotary frequency buffers that older checkpoints store; recomputed from the config instead.
  ignoredKeys: [/rotary_emb\.inv_freq$/],
  forward,
};
