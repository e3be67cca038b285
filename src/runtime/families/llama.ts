/**
 * Llama (Touvron et al. 2023) and its close relatives — Mistral (sliding window), Qwen2 (q/k/v
 * bias), Qwen3 (per-head q/k RMSNorm before rotary, head_dim from config), Phi-3 (fused qkv_proj
 * and gate_up_proj, optional partial rotary), TinyLlama, SmolLM:
 * rotary positions, pre-RMSNorm blocks, SwiGLU MLP, grouped-query attention, tied or untied
 * embeddings. Checkpoint names are Hugging Face's LlamaForCausalLM; projections are nn.Linear
 * weights stored [out, in] and cached transposed.
 */
import { ModelFormatError, describeValue } from '../../errors.js';
import { embed, head, transformerBlock } from '../block.js';
import type { BlockNorm, BlockSpec } from '../block.js';
import type { ForwardContext } from '../forward-context.js';
import { ropeInverseFrequencies, rotaryTables } from '../layers.js';
import type { Activation, RotaryTables } from '../layers.js';
import { HF_ACTIVATIONS, readActivation, readBool, readInt, readLayerTypes, readNumber, readSlidingWindow } from './config-fields.js';
import type { LayerType } from './config-fields.js';
import type { ArchConfig, BlockNorms, Family, Unembedding, WeightSpec } from './types.js';

export interface LlamaConfig extends ArchConfig {
  readonly family: 'llama';
  readonly rmsEps: number;
  readonly ropeTheta: number;
  /** rotaryDim/2 inverse frequencies, after any rope_scaling. */
  readonly invFreq: Float64Array;
  readonly activation: Activation;
  readonly tiedEmbeddings: boolean;
  /** Qwen3: per-head RMSNorm (plain weight) of queries and keys before rotary. */
  readonly qkNorm: boolean;
  /** Phi-3: q/k/v in one qkv_proj ([q | k | v] rows) and gate/up in one gate_up_proj ([gate | up] rows). */
  readonly fused: boolean;
  readonly layerTypes: readonly LayerType[];
}

/** Head dimensions of released models are 64 to 256; anything past this is a damaged config. */
export const MAX_HEAD_DIM = 8192;

/**
 * Inverse frequencies with rope_scaling applied. Supported: none/"default", "linear" (positions
 * divided by factor), and "llama3" (Llama 3.1's frequency-dependent rescaling, as in Hugging
 * Face's _compute_llama3_parameters).
 */
export function scaledInverseFrequencies(raw: Readonly<Record<string, unknown>>, path: string, rotaryDim: number, theta: number): Float64Array {
  const base = ropeInverseFrequencies(rotaryDim, theta);
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

/** Heads and head dimension, checked: GQA divisibility, an even head_dim below MAX_HEAD_DIM. */
export function readHeads(raw: Readonly<Record<string, unknown>>, path: string, dModel: number, defaultHeadDim?: number): { nHeads: number; nKvHeads: number; dHead: number } {
  const nHeads = readInt(raw, path, ['num_attention_heads']);
  const nKvHeads = readInt(raw, path, ['num_key_value_heads'], nHeads);
  if (nHeads % nKvHeads !== 0) {
    throw new ModelFormatError(`${path}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`, 'check config.json against the checkpoint');
  }
  const dHead = readInt(raw, path, ['head_dim'], defaultHeadDim ?? dModel / nHeads);
  if (!Number.isInteger(dHead) || dHead % 2 !== 0) {
    throw new ModelFormatError(`${path}: head dimension ${dHead} must be an even integer`, 'set head_dim in config.json');
  }
  // The rotary tables have dHead/2 entries: a damaged hidden_size must not size them.
  if (dHead > MAX_HEAD_DIM) {
    throw new ModelFormatError(`${path}: head dimension ${dHead} (hidden_size / num_attention_heads, or head_dim) is above ${MAX_HEAD_DIM}, wider than any released model's`, 'check hidden_size, num_attention_heads and head_dim in config.json');
  }
  return { nHeads, nKvHeads, dHead };
}

/**
 * Which layers slide, when config.json has no `layer_types`: Mistral slides on every layer when
 * it has a window; Qwen2/Qwen3 only with use_sliding_window, on layers ≥ max_window_layers (as
 * transformers' configuration_qwen2.py / configuration_qwen3.py derive layer_types).
 */
function defaultLayerType(raw: Readonly<Record<string, unknown>>, window: number | null, nLayers: number): (i: number) => LayerType {
  if (window === null) return () => 'full_attention';
  const modelType = String(raw.model_type);
  if (modelType === 'qwen2' || modelType === 'qwen3') {
    if (raw.use_sliding_window !== true) return () => 'full_attention';
    const from = typeof raw.max_window_layers === 'number' ? raw.max_window_layers : nLayers;
    return (i) => (i >= from ? 'sliding_attention' : 'full_attention');
  }
  return () => 'sliding_attention';
}

function parseConfig(raw: Readonly<Record<string, unknown>>, path: string): LlamaConfig {
  const dModel = readInt(raw, path, ['hidden_size']);
  // Qwen3Config defaults head_dim to 128 rather than hidden_size / heads (configuration_qwen3.py).
  const { nHeads, nKvHeads, dHead } = readHeads(raw, path, dModel, String(raw.model_type) === 'qwen3' ? 128 : undefined);
  const nLayers = readInt(raw, path, ['num_hidden_layers']);
  const ropeTheta = readNumber(raw, path, ['rope_theta'], 10000);
  // Phi-3/Phi-4 rotate only the first partial_rotary_factor of each head (transformers' _compute_default_rope_parameters).
  const factor = readNumber(raw, path, ['partial_rotary_factor'], 1);
  const rotaryDim = Math.floor(dHead * factor);
  if (!(factor > 0 && factor <= 1) || rotaryDim < 2 || rotaryDim % 2 !== 0) {
    throw new ModelFormatError(`${path}: "partial_rotary_factor" ${describeValue(raw.partial_rotary_factor)} of head dimension ${dHead} must be in (0, 1] and give an even number of rotary dims`, 'fix config.json');
  }
  const window = readSlidingWindow(raw, path);
  const layerTypes = readLayerTypes(raw, path, nLayers, defaultLayerType(raw, window, nLayers));
  const slides = layerTypes.includes('sliding_attention');
  if (slides && window === null) throw new ModelFormatError(`${path}: "layer_types" has sliding layers but "sliding_window" is not set`, 'give sliding_window (in tokens) in config.json');
  return {
    family: 'llama',
    modelType: String(raw.model_type),
    nLayers,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: readInt(raw, path, ['intermediate_size']),
    vocabSize: readInt(raw, path, ['vocab_size']),
    nCtx: readInt(raw, path, ['max_position_embeddings'], 2048),
    rmsEps: readNumber(raw, path, ['rms_norm_eps'], 1e-6),
    ropeTheta,
    invFreq: scaledInverseFrequencies(raw, path, rotaryDim, ropeTheta),
    activation: readActivation(raw, path, 'hidden_act', HF_ACTIVATIONS, 'silu'),
    tiedEmbeddings: readBool(raw, path, 'tie_word_embeddings', false),
    qkNorm: String(raw.model_type) === 'qwen3',
    fused: String(raw.model_type) === 'phi3',
    layerTypes,
    slidingWindow: slides ? window : null,
    features: new Set(['rotary', 'gated_mlp', 'sequential_block', ...(String(raw.model_type) === 'qwen3' ? ['qk_norm' as const] : [])]),
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
    const qkv = c.fused
      ? [linearW(`${a}.qkv_proj.weight`, (h + 2 * kv) * dh, d), ...bias(`${a}.qkv_proj.bias`, (h + 2 * kv) * dh)]
      : [
        linearW(`${a}.q_proj.weight`, h * dh, d), ...bias(`${a}.q_proj.bias`, h * dh),
        linearW(`${a}.k_proj.weight`, kv * dh, d), ...bias(`${a}.k_proj.bias`, kv * dh),
        linearW(`${a}.v_proj.weight`, kv * dh, d), ...bias(`${a}.v_proj.bias`, kv * dh),
      ];
    const gateUp = c.fused
      ? [linearW(`${f}.gate_up_proj.weight`, 2 * m, d)]
      : [linearW(`${f}.gate_proj.weight`, m, d), ...bias(`${f}.gate_proj.bias`, m), linearW(`${f}.up_proj.weight`, m, d), ...bias(`${f}.up_proj.bias`, m)];
    specs.push(
      asIs(`model.layers.${i}.input_layernorm.weight`, [d]),
      ...qkv,
      linearW(`${a}.o_proj.weight`, d, h * dh), ...bias(`${a}.o_proj.bias`, d),
      ...(c.qkNorm ? [asIs(`${a}.q_norm.weight`, [dh]), asIs(`${a}.k_norm.weight`, [dh])] : []),
      asIs(`model.layers.${i}.post_attention_layernorm.weight`, [d]),
      ...gateUp,
      linearW(`${f}.down_proj.weight`, d, m), ...bias(`${f}.down_proj.bias`, d),
    );
  }
  specs.push(asIs('model.norm.weight', [d]));
  // Untied models need lm_head; tied ones may still store a copy (llama2.c's export does), which is then used.
  if (!c.tiedEmbeddings || available.has('lm_head.weight')) specs.push(asIs('lm_head.weight', [V, d]));
  return specs;
}

function blockNorms(c: LlamaConfig, L: number): BlockNorms {
  const rms = (weight: string): BlockNorm => ({ kind: 'rms', eps: c.rmsEps, weight });
  return { ln1: rms(`model.layers.${L}.input_layernorm.weight`), ln2: rms(`model.layers.${L}.post_attention_layernorm.weight`) };
}

function block(c: LlamaConfig, rope: RotaryTables, L: number): BlockSpec {
  const a = `model.layers.${L}.self_attn`;
  const f = `model.layers.${L}.mlp`;
  const rms = (weight: string): BlockNorm => ({ kind: 'rms', eps: c.rmsEps, weight });
  const lin = (name: string) => ({ weight: `${name}.weight`, bias: `${name}.bias` });
  return {
    layer: L,
    ln1: blockNorms(c, L).ln1,
    attn: {
      nHeads: c.nHeads, nKvHeads: c.nKvHeads, dHead: c.dHead,
      qkv: c.fused ? { kind: 'fused_blocks', qkv: lin(`${a}.qkv_proj`) } : { kind: 'separate', q: lin(`${a}.q_proj`), k: lin(`${a}.k_proj`), v: lin(`${a}.v_proj`) },
      out: lin(`${a}.o_proj`),
      qkNorm: c.qkNorm ? { q: rms(`${a}.q_norm.weight`), k: rms(`${a}.k_norm.weight`) } : null,
      rotary: rope,
      scoreDivisor: Math.sqrt(c.dHead),
      softcap: null,
      window: c.layerTypes[L] === 'sliding_attention' ? 'sliding' : 'full',
    },
    ln1Post: null,
    ln2: blockNorms(c, L).ln2,
    mlp: c.fused
      ? { kind: 'fused_gate_up', gateUp: lin(`${f}.gate_up_proj`), dMlp: c.dMlp, down: lin(`${f}.down_proj`), act: c.activation }
      : { kind: 'gated', gate: lin(`${f}.gate_proj`), up: lin(`${f}.up_proj`), down: lin(`${f}.down_proj`), act: c.activation },
    ln2Post: null,
    parallel: false,
  };
}

function unembedding(_c: LlamaConfig, available: ReadonlySet<string>): Unembedding {
  return { normWeight: 'model.norm.weight', normUnitOffset: false, unembed: available.has('lm_head.weight') ? 'lm_head.weight' : 'model.embed_tokens.weight' };
}

function forward(ctx: ForwardContext, c: LlamaConfig): void {
  const rope = rotaryTables(ctx.g, ctx.inputs.positions, c.invFreq);
  let resid = embed(ctx, 'model.embed_tokens.weight');
  for (let L = 0; L < c.nLayers; L++) resid = transformerBlock(ctx, resid, block(c, rope, L));
  const unembed = ctx.hasWeight('lm_head.weight') ? 'lm_head.weight' : 'model.embed_tokens.weight';
  head(ctx, resid, { norm: { kind: 'rms', eps: c.rmsEps, weight: 'model.norm.weight' }, unembed, dModel: c.dModel, vocabSize: c.vocabSize, softcap: null });
}

export const llama: Family<LlamaConfig> = {
  name: 'llama',
  modelTypes: ['llama', 'mistral', 'qwen2', 'qwen3', 'phi3'],
  parseConfig,
  weightSpecs,
  // Rotary frequency buffers that older checkpoints store; recomputed from the config instead.
  ignoredKeys: [/rotary_emb\.inv_freq$/],
  forward,
  unembedding,
  blockNorms,
};
