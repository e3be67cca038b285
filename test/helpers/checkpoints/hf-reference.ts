/**
 * A float64 reference forward pass for the GPT-NeoX, Gemma (1, 2, 3) and Qwen3 families, read
 * from a Hugging Face config.json and its weights, returning TransformerLens hook values. It is
 * the independent check of the runtime on random checkpoints (test/runtime/families.test.ts) and
 * is itself checked against the shared fixtures' litgpt references (test/runtime/reference-fixtures.test.ts).
 *
 * Written from huggingface/transformers, read (never run, never copied):
 * - models/gpt_neox/modeling_gpt_neox.py (GPTNeoXAttention._attn_projections_and_rope: fused
 *   query_key_value viewed as [heads, 3·dh]; rotary on the first int(dh·rotary_pct) dims;
 *   GPTNeoXLayer: use_parallel_residual) and configuration_gpt_neox.py (defaults);
 * - models/gemma/modeling_gemma.py (GemmaRMSNorm (1 + w), embedding × √hidden_size, GemmaMLP
 *   with hidden_activation, scaling head_dim^−½) and configuration_gemma.py;
 * - models/gemma2/modeling_gemma2.py (pre/post norms around attention and MLP, scaling
 *   query_pre_attn_scalar^−½, attention soft-cap before the mask, sliding window on even layers,
 *   final-logit soft-cap in Gemma2ForCausalLM) and configuration_gemma2.py;
 * - models/gemma3/modeling_gemma3.py (q_norm/k_norm (1 + w) RMSNorm over head_dim before RoPE,
 *   per-layer-type rotary: rope_local_base_freq on sliding layers, rope_theta (with rope_scaling)
 *   on full ones) and configuration_gemma3.py (layer i is full iff (i + 1) % sliding_window_pattern == 0);
 * - models/qwen3/modeling_qwen3.py (plain-weight q_norm/k_norm over head_dim before RoPE,
 *   scaling head_dim^−½) and configuration_qwen3.py;
 * - masking_utils.py: a sliding window keeps keys j with q − W < j ≤ q.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSafetensors } from '../../../src/model/index.js';
import { activation, add, affine, attention, gather, inverseFrequencies, linear, map, normalize, rotary } from './math.js';
import type { Mat, NormKind, Tensor64 } from './math.js';

/** Weights by checkpoint name, in float64. */
export type Weights64 = ReadonlyMap<string, Tensor64>;
type Raw = Readonly<Record<string, unknown>>;

interface Norm {
  readonly kind: NormKind;
  readonly eps: number;
  readonly weight: Float64Array;
  readonly bias?: Float64Array;
  /** 1 for Gemma's (1 + w). */
  readonly offset: number;
}

interface Proj {
  readonly w: Tensor64;
  readonly b?: Float64Array;
}

interface Layer {
  readonly ln1: Norm;
  readonly q: Proj;
  readonly k: Proj;
  readonly v: Proj;
  readonly o: Proj;
  /** Per-head norms of q and k before rotary (Gemma 3, Qwen3). */
  readonly qNorm: Norm | null;
  readonly kNorm: Norm | null;
  readonly heads: number;
  readonly kvHeads: number;
  readonly dh: number;
  readonly rotDims: number;
  readonly invFreq: Float64Array;
  readonly scale: number;
  readonly softcap: number | null;
  readonly window: number | null;
  /** Norm of the attention output before it joins the residual (Gemma 2, 3). */
  readonly ln1Post: Norm | null;
  readonly ln2: Norm;
  readonly mlp: { readonly gate: Proj | null; readonly up: Proj; readonly down: Proj; readonly act: (v: number) => number };
  readonly ln2Post: Norm | null;
  /** GPT-NeoX use_parallel_residual: the MLP reads resid_pre and there is no resid_mid. */
  readonly parallel: boolean;
}

interface Model {
  readonly embed: Tensor64;
  readonly embedScale: number;
  readonly layers: readonly Layer[];
  readonly final: Norm;
  readonly unembed: Tensor64;
  readonly finalSoftcap: number | null;
}

// ---- the forward pass ----

function applyNorm(x: Mat, n: Norm, out: Map<string, Float64Array>, name: string | null, group = x.cols): Mat {
  const { normalized, scale } = normalize(x, n.kind, n.eps, group);
  if (name !== null) {
    out.set(`${name}.hook_scale`, scale);
    out.set(`${name}.hook_normalized`, normalized.data);
  }
  return affine(normalized, n.weight, n.offset, n.bias);
}

function runLayer(x: Mat, c: Layer, L: number, positions: readonly number[], out: Map<string, Float64Array>): Mat {
  const b = `blocks.${L}`;
  out.set(`${b}.hook_resid_pre`, x.data);
  const h1 = applyNorm(x, c.ln1, out, `${b}.ln1`);
  const q = linear(h1, c.q.w, c.q.b);
  const k = linear(h1, c.k.w, c.k.b);
  const v = linear(h1, c.v.w, c.v.b);
  out.set(`${b}.attn.hook_q`, q.data);
  out.set(`${b}.attn.hook_k`, k.data);
  out.set(`${b}.attn.hook_v`, v.data);
  const qn = c.qNorm ? applyNorm(q, c.qNorm, out, null, c.dh) : q;
  const kn = c.kNorm ? applyNorm(k, c.kNorm, out, null, c.dh) : k;
  const rq = rotary(qn, c.heads, c.dh, c.rotDims, c.invFreq, positions);
  const rk = rotary(kn, c.kvHeads, c.dh, c.rotDims, c.invFreq, positions);
  out.set(`${b}.attn.hook_rot_q`, rq.data);
  out.set(`${b}.attn.hook_rot_k`, rk.data);
  const a = attention(rq, rk, v, c);
  out.set(`${b}.attn.hook_attn_scores`, a.scores);
  out.set(`${b}.attn.hook_pattern`, a.pattern);
  out.set(`${b}.attn.hook_z`, a.z.data);
  let attnOut = linear(a.z, c.o.w, c.o.b);
  if (c.ln1Post) attnOut = applyNorm(attnOut, c.ln1Post, out, `${b}.ln1_post`);
  out.set(`${b}.hook_attn_out`, attnOut.data);
  const mid = add(x, attnOut);
  if (!c.parallel) out.set(`${b}.hook_resid_mid`, mid.data);
  const h2 = applyNorm(c.parallel ? x : mid, c.ln2, out, `${b}.ln2`);
  let post: Mat;
  if (c.mlp.gate) {
    const gate = linear(h2, c.mlp.gate.w, c.mlp.gate.b);
    const up = linear(h2, c.mlp.up.w, c.mlp.up.b);
    post = map(gate, (g, i) => c.mlp.act(g) * up.data[i]);
    out.set(`${b}.mlp.hook_pre`, gate.data);
    out.set(`${b}.mlp.hook_pre_linear`, up.data);
  } else {
    const pre = linear(h2, c.mlp.up.w, c.mlp.up.b);
    post = map(pre, c.mlp.act);
    out.set(`${b}.mlp.hook_pre`, pre.data);
  }
  out.set(`${b}.mlp.hook_post`, post.data);
  let mlpOut = linear(post, c.mlp.down.w, c.mlp.down.b);
  if (c.ln2Post) mlpOut = applyNorm(mlpOut, c.ln2Post, out, `${b}.ln2_post`);
  out.set(`${b}.hook_mlp_out`, mlpOut.data);
  const resid = add(mid, mlpOut);
  out.set(`${b}.hook_resid_post`, resid.data);
  return resid;
}

function runModel(m: Model, ids: readonly number[]): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  const positions = ids.map((_, i) => i);
  let x = gather(m.embed, ids);
  if (m.embedScale !== 1) x = map(x, (v) => v * m.embedScale);
  out.set('hook_embed', x.data);
  m.layers.forEach((layer, L) => { x = runLayer(x, layer, L, positions, out); });
  const final = applyNorm(x, m.final, out, 'ln_final');
  let logits = linear(final, m.unembed);
  const cap = m.finalSoftcap;
  if (cap !== null) logits = map(logits, (v) => cap * Math.tanh(v / cap));
  out.set('logits', logits.data);
  return out;
}

// ---- reading config.json as transformers does ----

/** A config field, or its default when absent (an explicit null stays null). */
function field<T>(raw: Raw, name: string, fallback: T): T {
  return (raw[name] === undefined ? fallback : raw[name]) as T;
}

function need(w: Weights64, name: string): Tensor64 {
  const t = w.get(name);
  if (!t) throw new Error(`reference: the checkpoint has no ${name}`);
  return t;
}

const proj = (w: Weights64, name: string, bias: boolean): Proj => ({ w: need(w, `${name}.weight`), b: bias ? need(w, `${name}.bias`).data : undefined });

function noRopeScaling(raw: Raw, where: string): void {
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) throw new Error(`reference: rope_scaling is not implemented for ${where}`);
}

/** GPTNeoXForCausalLM (configuration_gpt_neox.py defaults). */
function neoxModel(raw: Raw, w: Weights64): Model {
  const d = field<number>(raw, 'hidden_size', 6144);
  const H = field<number>(raw, 'num_attention_heads', 64);
  const dh = d / H;
  const rotDims = Math.trunc(dh * field<number>(raw, 'rotary_pct', field<number>(raw, 'partial_rotary_factor', 0.25)));
  const base = field<number>(raw, 'rotary_emb_base', field<number>(raw, 'rope_theta', 10000));
  const eps = field<number>(raw, 'layer_norm_eps', 1e-5);
  const bias = field<boolean>(raw, 'attention_bias', true);
  const parallel = field<boolean>(raw, 'use_parallel_residual', true);
  const act = activation(field<string>(raw, 'hidden_act', 'gelu'));
  noRopeScaling(raw, 'gpt_neox');
  const ln = (name: string): Norm => ({ kind: 'layer', eps, weight: need(w, `${name}.weight`).data, bias: need(w, `${name}.bias`).data, offset: 0 });
  const layers: Layer[] = [];
  for (let L = 0; L < field<number>(raw, 'num_hidden_layers', 44); L++) {
    const p = `gpt_neox.layers.${L}`;
    // query_key_value rows are [head, {q, k, v}, dh]: view(..., heads, 3·dh) then split the last axis.
    const qkv = need(w, `${p}.attention.query_key_value.weight`);
    const qkvBias = bias ? need(w, `${p}.attention.query_key_value.bias`).data : undefined;
    const part = (which: number): Proj => {
      const rows = Array.from({ length: d }, (_, r) => Math.floor(r / dh) * 3 * dh + which * dh + (r % dh));
      const data = new Float64Array(d * d);
      rows.forEach((src, r) => data.set(qkv.data.subarray(src * d, (src + 1) * d), r * d));
      return { w: { data, shape: [d, d] }, b: qkvBias ? Float64Array.from(rows, (src) => qkvBias[src]) : undefined };
    };
    layers.push({
      ln1: ln(`${p}.input_layernorm`),
      q: part(0), k: part(1), v: part(2), o: proj(w, `${p}.attention.dense`, bias),
      qNorm: null, kNorm: null,
      heads: H, kvHeads: H, dh, rotDims, invFreq: inverseFrequencies(rotDims, base),
      scale: dh ** -0.5, softcap: null, window: null,
      ln1Post: null,
      ln2: ln(`${p}.post_attention_layernorm`),
      mlp: { gate: null, up: proj(w, `${p}.mlp.dense_h_to_4h`, true), down: proj(w, `${p}.mlp.dense_4h_to_h`, true), act },
      ln2Post: null,
      parallel,
    });
  }
  const tied = field<boolean>(raw, 'tie_word_embeddings', false);
  return {
    embed: need(w, 'gpt_neox.embed_in.weight'), embedScale: 1, layers,
    final: ln('gpt_neox.final_layer_norm'),
    unembed: need(w, tied ? 'gpt_neox.embed_in.weight' : 'embed_out.weight'),
    finalSoftcap: null,
  };
}

type Gen = 1 | 2 | 3;

/** Defaults of GemmaConfig, Gemma2Config and Gemma3TextConfig for the fields read here. */
const GEMMA_DEFAULTS: Readonly<Record<Gen, Raw>> = {
  1: { head_dim: 256, rms_norm_eps: 1e-6, rope_theta: 10000 },
  2: { head_dim: 256, rms_norm_eps: 1e-6, rope_theta: 10000, query_pre_attn_scalar: 256, sliding_window: 4096, attn_logit_softcapping: 50, final_logit_softcapping: 30 },
  3: { head_dim: 256, rms_norm_eps: 1e-6, rope_theta: 1e6, rope_local_base_freq: 10000, query_pre_attn_scalar: 256, sliding_window: 4096, sliding_window_pattern: 6, attn_logit_softcapping: null, final_logit_softcapping: null },
};

/** Gemma*ForCausalLM, or the language model of Gemma3ForConditionalGeneration (model_type gemma3, text_config). */
function gemmaModel(top: Raw, weights: Weights64): Model {
  const gen: Gen = top.model_type === 'gemma' ? 1 : top.model_type === 'gemma2' ? 2 : 3;
  const given = top.model_type === 'gemma3' ? (top.text_config as Raw) : top;
  const raw: Raw = { ...GEMMA_DEFAULTS[gen], ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  // A multimodal checkpoint keeps its language model under language_model.model.* (older
  // transformers) or model.language_model.* (newer), and its head under language_model.lm_head.
  const w = new Map<string, Tensor64>();
  for (const [k, t] of weights) w.set(k.replace(/^language_model\.model\.|^model\.language_model\./, 'model.').replace(/^language_model\.lm_head\./, 'lm_head.'), t);
  const d = raw.hidden_size as number;
  const H = raw.num_attention_heads as number;
  const KV = field<number>(raw, 'num_key_value_heads', H);
  const dh = raw.head_dim as number;
  const eps = raw.rms_norm_eps as number;
  const nLayers = raw.num_hidden_layers as number;
  const window = field<number | null>(raw, 'sliding_window', null);
  const pattern = field<number>(raw, 'sliding_window_pattern', 6);
  const types = (raw.layer_types as string[] | undefined) ?? Array.from({ length: nLayers }, (_, i) => {
    if (gen === 1) return 'full_attention';
    if (gen === 2) return i % 2 === 0 ? 'sliding_attention' : 'full_attention'; // is_sliding = not bool(layer_idx % 2)
    return (i + 1) % pattern === 0 ? 'full_attention' : 'sliding_attention';
  });
  const attnCap = gen === 1 ? null : field<number | null>(raw, 'attn_logit_softcapping', null);
  // Gemma3Attention (modeling_gemma3.py as read) passes no softcap to its attention function, so
  // a Gemma 3 attention soft-cap has no single meaning across transformers versions: refuse it.
  if (gen === 3 && attnCap !== null) throw new Error('reference: attn_logit_softcapping on Gemma 3 is not modelled');
  const globalFreq = (): Float64Array => {
    const s = raw.rope_scaling as { rope_type?: string; type?: string; factor?: number } | null | undefined;
    if (s === null || s === undefined) return inverseFrequencies(dh, raw.rope_theta as number);
    if (gen === 3 && (s.rope_type ?? s.type) === 'linear' && typeof s.factor === 'number') return inverseFrequencies(dh, raw.rope_theta as number, s.factor);
    throw new Error(`reference: rope_scaling ${JSON.stringify(s)} is not implemented for Gemma`);
  };
  const invGlobal = globalFreq();
  const invLocal = gen === 3 ? inverseFrequencies(dh, raw.rope_local_base_freq as number) : invGlobal;
  const scale = gen === 1 ? dh ** -0.5 : (raw.query_pre_attn_scalar as number) ** -0.5;
  const rms = (name: string): Norm => ({ kind: 'rms', eps, weight: need(w, `${name}.weight`).data, offset: 1 });
  const act = activation(field<string>(raw, 'hidden_activation', 'gelu_pytorch_tanh') ?? 'gelu_pytorch_tanh');
  const layers: Layer[] = [];
  for (let L = 0; L < nLayers; L++) {
    const p = `model.layers.${L}`;
    const sliding = types[L] === 'sliding_attention';
    layers.push({
      ln1: rms(`${p}.input_layernorm`),
      q: proj(w, `${p}.self_attn.q_proj`, false), k: proj(w, `${p}.self_attn.k_proj`, false),
      v: proj(w, `${p}.self_attn.v_proj`, false), o: proj(w, `${p}.self_attn.o_proj`, false),
      qNorm: gen === 3 ? rms(`${p}.self_attn.q_norm`) : null,
      kNorm: gen === 3 ? rms(`${p}.self_attn.k_norm`) : null,
      heads: H, kvHeads: KV, dh, rotDims: dh, invFreq: sliding ? invLocal : invGlobal,
      scale, softcap: attnCap, window: sliding ? window : null,
      ln1Post: gen >= 2 ? rms(`${p}.post_attention_layernorm`) : null,
      // Gemma 1's post_attention_layernorm is the MLP's pre-norm; Gemma 2 and 3 have pre_feedforward_layernorm.
      ln2: rms(gen >= 2 ? `${p}.pre_feedforward_layernorm` : `${p}.post_attention_layernorm`),
      mlp: { gate: proj(w, `${p}.mlp.gate_proj`, false), up: proj(w, `${p}.mlp.up_proj`, false), down: proj(w, `${p}.mlp.down_proj`, false), act },
      ln2Post: gen >= 2 ? rms(`${p}.post_feedforward_layernorm`) : null,
      parallel: false,
    });
  }
  return {
    embed: need(w, 'model.embed_tokens.weight'),
    // normalizer = torch.tensor(hidden_size**0.5, dtype=weight dtype): √d rounded to fp32 for fp32 weights.
    embedScale: Math.fround(Math.sqrt(d)),
    layers,
    final: rms('model.norm'),
    unembed: w.get('lm_head.weight') ?? need(w, 'model.embed_tokens.weight'),
    finalSoftcap: gen === 1 ? null : field<number | null>(raw, 'final_logit_softcapping', null),
  };
}

/** Qwen3ForCausalLM (configuration_qwen3.py defaults; no sliding window). */
function qwen3Model(raw: Raw, w: Weights64): Model {
  const d = raw.hidden_size as number;
  const H = raw.num_attention_heads as number;
  const KV = field<number>(raw, 'num_key_value_heads', H);
  const dh = field<number | null>(raw, 'head_dim', 128) ?? d / H;
  const eps = field<number>(raw, 'rms_norm_eps', 1e-6);
  const bias = field<boolean>(raw, 'attention_bias', false);
  if (field<boolean>(raw, 'use_sliding_window', false)) throw new Error('reference: Qwen3 sliding windows are not modelled');
  noRopeScaling(raw, 'qwen3');
  const invFreq = inverseFrequencies(dh, field<number>(raw, 'rope_theta', 10000));
  const rms = (name: string): Norm => ({ kind: 'rms', eps, weight: need(w, `${name}.weight`).data, offset: 0 });
  const act = activation(field<string>(raw, 'hidden_act', 'silu'));
  const layers: Layer[] = [];
  for (let L = 0; L < (raw.num_hidden_layers as number); L++) {
    const p = `model.layers.${L}`;
    layers.push({
      ln1: rms(`${p}.input_layernorm`),
      q: proj(w, `${p}.self_attn.q_proj`, bias), k: proj(w, `${p}.self_attn.k_proj`, bias),
      v: proj(w, `${p}.self_attn.v_proj`, bias), o: proj(w, `${p}.self_attn.o_proj`, bias),
      qNorm: rms(`${p}.self_attn.q_norm`), kNorm: rms(`${p}.self_attn.k_norm`),
      heads: H, kvHeads: KV, dh, rotDims: dh, invFreq, scale: dh ** -0.5, softcap: null, window: null,
      ln1Post: null,
      ln2: rms(`${p}.post_attention_layernorm`),
      mlp: { gate: proj(w, `${p}.mlp.gate_proj`, false), up: proj(w, `${p}.mlp.up_proj`, false), down: proj(w, `${p}.mlp.down_proj`, false), act },
      ln2Post: null,
      parallel: false,
    });
  }
  const tied = field<boolean>(raw, 'tie_word_embeddings', false);
  return {
    embed: need(w, 'model.embed_tokens.weight'), embedScale: 1, layers,
    final: rms('model.norm'),
    unembed: need(w, tied ? 'model.embed_tokens.weight' : 'lm_head.weight'),
    finalSoftcap: null,
  };
}

/** The model types this reference reads. */
export const HF_REFERENCE_TYPES = ['gpt_neox', 'gemma', 'gemma2', 'gemma3_text', 'gemma3', 'qwen3'] as const;

/**
 * Hook values (flattened; one sequence at positions 0…T−1, i.e. batch 1) keyed by TransformerLens
 * name, from a config.json object and the checkpoint's weights. Per-head hooks are [T, heads, dh];
 * patterns and scores [H, T, T]; hook_scale [T].
 */
export function hfReferenceForward(config: Raw, weights: Weights64, ids: readonly number[]): Map<string, Float64Array> {
  switch (config.model_type) {
    case 'gpt_neox':
      return runModel(neoxModel(config, weights), ids);
    case 'gemma':
    case 'gemma2':
    case 'gemma3_text':
    case 'gemma3':
      return runModel(gemmaModel(config, weights), ids);
    case 'qwen3':
      return runModel(qwen3Model(config, weights), ids);
    default:
      throw new Error(`reference: model_type ${String(config.model_type)} is not one of ${HF_REFERENCE_TYPES.join(', ')}`);
  }
}

/** config.json and model.safetensors of a model folder, the weights widened to float64. */
export function readCheckpoint64(dir: string): { config: Raw; weights: Map<string, Tensor64> } {
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Raw;
  const file = openSafetensors(path.join(dir, 'model.safetensors'));
  const weights = new Map<string, Tensor64>();
  for (const [name, info] of file.tensors) weights.set(name, { data: Float64Array.from(file.readF32(name)), shape: [...info.shape] });
  return { config, weights };
}

