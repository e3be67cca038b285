/**
 * Gemma (Gemma Team 2024), Gemma 2 and Gemma 3 (text): RMSNorm that multiplies by (1 + w), the
 * token embedding scaled by √d_model (hook_embed holds the scaled value), GeGLU with tanh GELU,
 * tied embeddings, multi-/grouped-query attention with head_dim from the config.
 * - Gemma 2 adds a norm after attention and after the MLP (post_attention_layernorm,
 *   post_feedforward_layernorm: hook_attn_out / hook_mlp_out are after them), the MLP's own
 *   pre_feedforward_layernorm, scores divided by √query_pre_attn_scalar, attention-logit and
 *   final-logit soft-capping, and a sliding window on alternate layers (even layers slide).
 * - Gemma 3 adds per-head q/k RMSNorms ((1 + w), before rotary), five local (sliding) layers to
 *   one global (layer i is global iff (i + 1) % sliding_window_pattern == 0, or config.json's
 *   layer_types), RoPE base rope_local_base_freq on local layers and rope_theta (with any
 *   rope_scaling) on global ones, and no soft-capping by default.
 * Checkpoint names are Hugging Face's Gemma*ForCausalLM (nn.Linear [out, in]); a multimodal
 * `gemma3` checkpoint's language model is read from its text_config and `language_model.` weights.
 * Sources: transformers' models/gemma{,2,3}/modeling_*.py and configuration_*.py.
 */
import { ModelFormatError, describeValue } from '../../errors.js';
import { embed, head, transformerBlock } from '../block.js';
import type { BlockNorm, BlockSpec } from '../block.js';
import type { ForwardContext } from '../forward-context.js';
import { ropeInverseFrequencies, rotaryTables } from '../layers.js';
import type { Activation, RotaryTables } from '../layers.js';
import { HF_ACTIVATIONS, readActivation, readInt, readLayerTypes, readNumber, readSlidingWindow } from './config-fields.js';
import type { LayerType } from './config-fields.js';
import { readHeads, scaledInverseFrequencies } from './llama.js';
import type { ArchConfig, BlockNorms, Family, Unembedding, WeightSpec } from './types.js';

type Generation = 1 | 2 | 3;

export interface GemmaConfig extends ArchConfig {
  readonly family: 'gemma';
  readonly generation: Generation;
  readonly rmsEps: number;
  readonly activation: Activation;
  /** Scores are q·k / √queryPreAttnScalar. */
  readonly queryPreAttnScalar: number;
  readonly attnSoftcap: number | null;
  readonly finalSoftcap: number | null;
  readonly layerTypes: readonly LayerType[];
  /** Inverse frequencies of global (full-attention) layers, and of local (sliding) ones (Gemma 3: another base, no scaling). */
  readonly invFreqGlobal: Float64Array;
  readonly invFreqLocal: Float64Array;
}

type Raw = Readonly<Record<string, unknown>>;

/**
 * Defaults of the fields Hugging Face configs may leave out, per generation (GemmaConfig,
 * Gemma2Config, Gemma3TextConfig): a multimodal gemma3 config.json's text_config often lists only
 * what differs from them.
 */
const DEFAULTS: Readonly<Record<Generation, Raw>> = {
  1: { head_dim: 256, rope_theta: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 8192 },
  2: { head_dim: 256, rope_theta: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 8192, query_pre_attn_scalar: 256, sliding_window: 4096, attn_logit_softcapping: 50, final_logit_softcapping: 30 },
  3: {
    vocab_size: 262208, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256,
    rope_theta: 1e6, rope_local_base_freq: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 131072, query_pre_attn_scalar: 256,
    sliding_window: 4096, sliding_window_pattern: 6, attn_logit_softcapping: null, final_logit_softcapping: null,
  },
};

const GENERATIONS: Readonly<Record<string, Generation>> = { gemma: 1, gemma2: 2, gemma3_text: 3, gemma3: 3 };

/** A soft-cap: a positive number, or null (given as null, or absent with a null default). */
function readSoftcap(raw: Raw, path: string, name: string): number | null {
  const value = raw[name];
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ModelFormatError(`${path}: "${name}" must be a positive number or null, got ${describeValue(value)}`, 'fix config.json');
  }
  return value;
}

function parseConfig(rawTop: Raw, path: string): GemmaConfig {
  const generation = GENERATIONS[String(rawTop.model_type)];
  let given: Raw = rawTop;
  let where = path;
  if (rawTop.model_type === 'gemma3') {
    // The multimodal wrapper: the language model is described by text_config.
    const text = rawTop.text_config;
    if (typeof text !== 'object' || text === null || Array.isArray(text)) {
      throw new ModelFormatError(`${path}: a "gemma3" config needs a "text_config" object describing its language model`, 'use the config.json that came with the checkpoint');
    }
    given = text as Raw;
    where = `${path} text_config`;
  }
  // Explicit nulls stay (a null soft-cap turns it off); only absent fields take the default.
  const raw: Raw = { ...DEFAULTS[generation], ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  const dModel = readInt(raw, where, ['hidden_size']);
  const { nHeads, nKvHeads, dHead } = readHeads(raw, where, dModel);
  const nLayers = readInt(raw, where, ['num_hidden_layers']);
  const window = readSlidingWindow(raw, where);
  const pattern = generation === 3 ? readInt(raw, where, ['sliding_window_pattern']) : 2;
  const fallback = (i: number): LayerType => {
    if (generation === 1 || window === null) return 'full_attention';
    // Gemma 2: even layers slide (modeling_gemma2 `is_sliding = not bool(layer_idx % 2)`); Gemma 3: all but every pattern-th.
    return (i + 1) % pattern === 0 ? 'full_attention' : 'sliding_attention';
  };
  const layerTypes = readLayerTypes(raw, where, nLayers, fallback);
  const slides = layerTypes.includes('sliding_attention');
  if (slides && window === null) throw new ModelFormatError(`${where}: "layer_types" has sliding layers but "sliding_window" is null`, 'give sliding_window (in tokens) in config.json');
  const ropeTheta = readNumber(raw, where, ['rope_theta']);
  const invFreqGlobal = scaledInverseFrequencies(raw, where, dHead, ropeTheta);
  // Gemma 3's local layers use their own base and no rope_scaling (modeling_gemma3 rotary_emb_local).
  const invFreqLocal = generation === 3 ? ropeInverseFrequencies(dHead, readNumber(raw, where, ['rope_local_base_freq'])) : invFreqGlobal;
  const qpas = generation === 1 ? dHead : readNumber(raw, where, ['query_pre_attn_scalar']);
  if (!(qpas > 0)) throw new ModelFormatError(`${where}: "query_pre_attn_scalar" must be positive, got ${describeValue(raw.query_pre_attn_scalar)}`, 'fix config.json');
  return {
    family: 'gemma',
    generation,
    modelType: String(rawTop.model_type),
    nLayers,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: readInt(raw, where, ['intermediate_size']),
    vocabSize: readInt(raw, where, ['vocab_size']),
    nCtx: readInt(raw, where, ['max_position_embeddings']),
    rmsEps: readNumber(raw, where, ['rms_norm_eps']),
    // Gemma computes the approximate (tanh) GELU; early Gemma 1 configs said hidden_act "gelu"
    // by mistake, which transformers overrides with gelu_pytorch_tanh unless hidden_activation is set.
    activation: readActivation(raw, where, 'hidden_activation', HF_ACTIVATIONS, 'gelu_tanh'),
    queryPreAttnScalar: qpas,
    attnSoftcap: generation === 1 ? null : readSoftcap(raw, where, 'attn_logit_softcapping'),
    finalSoftcap: generation === 1 ? null : readSoftcap(raw, where, 'final_logit_softcapping'),
    layerTypes,
    invFreqGlobal,
    invFreqLocal,
    slidingWindow: slides ? window : null,
    features: new Set(['rotary', 'gated_mlp', 'sequential_block', 'embed_scale', ...(generation >= 2 ? ['post_norms' as const] : []), ...(generation === 3 ? ['qk_norm' as const] : [])]),
  };
}

/** Checkpoint keys of an interp weight name: the text model's own, or inside a multimodal gemma3 checkpoint (old and new transformers layouts). */
function keysOf(name: string): string[] {
  const inner = name.replace(/^model\./, '');
  return [name, `language_model.${name}`, `model.language_model.${inner}`];
}

function weightSpecs(c: GemmaConfig, available: ReadonlySet<string>): WeightSpec[] {
  const { dModel: d, dMlp: m, vocabSize: V, nHeads: h, nKvHeads: kv, dHead: dh } = c;
  const asIs = (name: string, shape: number[]): WeightSpec => ({ name, keys: keysOf(name), shape, layout: 'as_is' });
  const linearW = (name: string, out: number, inp: number): WeightSpec => ({ name, keys: keysOf(name), shape: [out, inp], layout: 'transpose' });
  const specs: WeightSpec[] = [asIs('model.embed_tokens.weight', [V, d])];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}`;
    specs.push(
      asIs(`${p}.input_layernorm.weight`, [d]),
      linearW(`${p}.self_attn.q_proj.weight`, h * dh, d),
      linearW(`${p}.self_attn.k_proj.weight`, kv * dh, d),
      linearW(`${p}.self_attn.v_proj.weight`, kv * dh, d),
      linearW(`${p}.self_attn.o_proj.weight`, d, h * dh),
      ...(c.generation === 3 ? [asIs(`${p}.self_attn.q_norm.weight`, [dh]), asIs(`${p}.self_attn.k_norm.weight`, [dh])] : []),
      asIs(`${p}.post_attention_layernorm.weight`, [d]),
      ...(c.generation >= 2 ? [asIs(`${p}.pre_feedforward_layernorm.weight`, [d]), asIs(`${p}.post_feedforward_layernorm.weight`, [d])] : []),
      linearW(`${p}.mlp.gate_proj.weight`, m, d),
      linearW(`${p}.mlp.up_proj.weight`, m, d),
      linearW(`${p}.mlp.down_proj.weight`, d, m),
    );
  }
  specs.push(asIs('model.norm.weight', [d]));
  // Gemma ties the unembedding; a checkpoint that stores lm_head anyway (a fine-tune) uses it.
  const head = ['lm_head.weight', 'language_model.lm_head.weight'].find((k) => available.has(k));
  if (head !== undefined) specs.push({ name: 'lm_head.weight', keys: [head], shape: [V, d], layout: 'as_is' });
  return specs;
}

function blockNorms(c: GemmaConfig, L: number): BlockNorms {
  const rms = (weight: string): BlockNorm => ({ kind: 'rms', eps: c.rmsEps, weight, unitOffset: true });
  const p = `model.layers.${L}`;
  // In Gemma 1 post_attention_layernorm is the MLP's pre-norm; from Gemma 2 on it normalises the attention output.
  return { ln1: rms(`${p}.input_layernorm.weight`), ln2: rms(c.generation >= 2 ? `${p}.pre_feedforward_layernorm.weight` : `${p}.post_attention_layernorm.weight`) };
}

function block(c: GemmaConfig, ropes: { global: RotaryTables; local: RotaryTables }, L: number): BlockSpec {
  const p = `model.layers.${L}`;
  const rms = (weight: string): BlockNorm => ({ kind: 'rms', eps: c.rmsEps, weight, unitOffset: true });
  const lin = (name: string) => ({ weight: `${p}.${name}.weight` });
  const sliding = c.layerTypes[L] === 'sliding_attention';
  const post = c.generation >= 2;
  return {
    layer: L,
    ln1: blockNorms(c, L).ln1,
    attn: {
      nHeads: c.nHeads, nKvHeads: c.nKvHeads, dHead: c.dHead,
      qkv: { kind: 'separate', q: lin('self_attn.q_proj'), k: lin('self_attn.k_proj'), v: lin('self_attn.v_proj') },
      out: lin('self_attn.o_proj'),
      qkNorm: c.generation === 3 ? { q: rms(`${p}.self_attn.q_norm.weight`), k: rms(`${p}.self_attn.k_norm.weight`) } : null,
      rotary: sliding ? ropes.local : ropes.global,
      scoreDivisor: Math.sqrt(c.queryPreAttnScalar),
      softcap: c.attnSoftcap,
      window: sliding ? 'sliding' : 'full',
    },
    ln1Post: post ? rms(`${p}.post_attention_layernorm.weight`) : null,
    ln2: blockNorms(c, L).ln2,
    mlp: { kind: 'gated', gate: lin('mlp.gate_proj'), up: lin('mlp.up_proj'), down: lin('mlp.down_proj'), act: c.activation },
    ln2Post: post ? rms(`${p}.post_feedforward_layernorm.weight`) : null,
    parallel: false,
  };
}

function unembedding(_c: GemmaConfig, available: ReadonlySet<string>): Unembedding {
  const head = ['lm_head.weight', 'language_model.lm_head.weight'].some((k) => available.has(k));
  return { normWeight: 'model.norm.weight', normUnitOffset: true, unembed: head ? 'lm_head.weight' : 'model.embed_tokens.weight' };
}

function forward(ctx: ForwardContext, c: GemmaConfig): void {
  const { g } = ctx;
  const global = rotaryTables(g, ctx.inputs.positions, c.invFreqGlobal);
  const local = c.invFreqLocal === c.invFreqGlobal ? global : rotaryTables(g, ctx.inputs.positions, c.invFreqLocal);
  // √d_model in fp32, as transformers computes it for an fp32 model (in bf16 it would round to the weight dtype).
  let resid = embed(ctx, 'model.embed_tokens.weight', Math.sqrt(c.dModel));
  for (let L = 0; L < c.nLayers; L++) resid = transformerBlock(ctx, resid, block(c, { global, local }, L));
  const unembed = ctx.hasWeight('lm_head.weight') ? 'lm_head.weight' : 'model.embed_tokens.weight';
  head(ctx, resid, { norm: { kind: 'rms', eps: c.rmsEps, weight: 'model.norm.weight', unitOffset: true }, unembed, dModel: c.dModel, vocabSize: c.vocabSize, softcap: c.finalSoftcap });
}

export const gemma: Family<GemmaConfig> = {
  name: 'gemma',
  modelTypes: ['gemma', 'gemma2', 'gemma3_text', 'gemma3'],
  parseConfig,
  weightSpecs,
  // Rotary buffers, and the vision half of a multimodal gemma3 checkpoint (interp runs its language model).
  ignoredKeys: [/rotary_emb\.inv_freq$/, /^(model\.)?vision_tower\./, /^(model\.)?multi_modal_projector\./],
  forward,
  unembedding,
  blockNorms,
};
