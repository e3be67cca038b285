/**
 * Random-weight Hugging Face checkpoints of chosen shapes, and a plain float64 TypeScript forward
 * pass over the same weights that returns TransformerLens hook values. Together they check that
 * the runtime is right for shapes the fixtures do not cover (untied heads, other GQA ratios,
 * other rope_theta, q/k/v biases) instead of being tuned to the fixtures.
 *
 * gpt2 and llama are written and referenced here; gpt_neox, gemma (1, 2, 3) and qwen3 in
 * checkpoints/random-families.ts (config and weights) and checkpoints/hf-reference.ts (the
 * reference, which reads config.json as transformers does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeSafetensors } from '../../src/model/index.js';
import { hfReferenceForward } from './checkpoints/hf-reference.js';
import { drawFamilyWeights, familyConfig, isFamilyModel } from './checkpoints/random-families.js';
import type { RandomFamilyModel } from './checkpoints/random-families.js';
import { mulberry32 } from '../../src/util/random.js';

export { familyConfig, isFamilyModel } from './checkpoints/random-families.js';
export type { LayerType, RandomFamilyModel, RandomGemma, RandomNeox, RandomQwen3 } from './checkpoints/random-families.js';
export { hfReferenceForward, readCheckpoint64 } from './checkpoints/hf-reference.js';

export interface RandomGpt2 {
  readonly family: 'gpt2';
  readonly layers: number;
  readonly d: number;
  readonly heads: number;
  readonly vocab: number;
  readonly nPos: number;
  readonly untiedHead: boolean;
}

export interface RandomLlama {
  readonly family: 'llama';
  readonly layers: number;
  readonly d: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly dMlp: number;
  readonly vocab: number;
  readonly theta: number;
  readonly tied: boolean;
  readonly qkvBias: boolean;
  readonly modelType: 'llama' | 'qwen2' | 'mistral';
}

export type RandomModel = RandomGpt2 | RandomLlama;

/** Every family writeRandomModel and referenceForward know. */
export type AnyRandomModel = RandomModel | RandomFamilyModel;

/** Weights by checkpoint name, with shapes, in float64 for the reference. */
export type Weights = Map<string, { data: Float64Array; shape: number[] }>;

/** The project's seeded generator of uniforms in [0, 1) (src/util/random.ts), shared by the tests. */
export const rng = mulberry32;

/** Writes config.json + model.safetensors and returns the weights (rounded to fp32, held as float64). */
export function writeRandomModel(dir: string, m: AnyRandomModel, seed = 1): Weights {
  const rand = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const weights: Weights = new Map();
  const add = (name: string, shape: number[], scale: number, offset = 0) => {
    const n = shape.reduce((a, x) => a * x, 1);
    const f32 = Float32Array.from({ length: n }, () => offset + scale * normal());
    weights.set(name, { data: Float64Array.from(f32), shape });
  };
  let config: Record<string, unknown>;
  if (m.family === 'gpt2') {
    const { d, vocab, nPos } = m;
    add('wte.weight', [vocab, d], 0.1);
    add('wpe.weight', [nPos, d], 0.1);
    for (let i = 0; i < m.layers; i++) {
      add(`h.${i}.ln_1.weight`, [d], 0.1, 1); add(`h.${i}.ln_1.bias`, [d], 0.1);
      add(`h.${i}.attn.c_attn.weight`, [d, 3 * d], 0.15); add(`h.${i}.attn.c_attn.bias`, [3 * d], 0.02);
      add(`h.${i}.attn.c_proj.weight`, [d, d], 0.08); add(`h.${i}.attn.c_proj.bias`, [d], 0.02);
      add(`h.${i}.ln_2.weight`, [d], 0.1, 1); add(`h.${i}.ln_2.bias`, [d], 0.1);
      add(`h.${i}.mlp.c_fc.weight`, [d, 4 * d], 0.08); add(`h.${i}.mlp.c_fc.bias`, [4 * d], 0.02);
      add(`h.${i}.mlp.c_proj.weight`, [4 * d, d], 0.08); add(`h.${i}.mlp.c_proj.bias`, [d], 0.02);
    }
    add('ln_f.weight', [d], 0.1, 1); add('ln_f.bias', [d], 0.1);
    if (m.untiedHead) add('lm_head.weight', [vocab, d], 0.1);
    config = { model_type: 'gpt2', n_embd: d, n_layer: m.layers, n_head: m.heads, n_positions: nPos, vocab_size: vocab, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, n_inner: null, bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: !m.untiedHead };
  } else if (isFamilyModel(m)) {
    drawFamilyWeights(m, add);
    config = familyConfig(m);
  } else {
    const { d, vocab, heads, kvHeads, dMlp } = m;
    const dh = d / heads;
    add('model.embed_tokens.weight', [vocab, d], 0.5);
    for (let i = 0; i < m.layers; i++) {
      const a = `model.layers.${i}.self_attn`;
      add(`model.layers.${i}.input_layernorm.weight`, [d], 0.1, 1);
      add(`${a}.q_proj.weight`, [heads * dh, d], 0.2); add(`${a}.k_proj.weight`, [kvHeads * dh, d], 0.2);
      add(`${a}.v_proj.weight`, [kvHeads * dh, d], 0.2); add(`${a}.o_proj.weight`, [d, heads * dh], 0.1);
      if (m.qkvBias) { add(`${a}.q_proj.bias`, [heads * dh], 0.1); add(`${a}.k_proj.bias`, [kvHeads * dh], 0.1); add(`${a}.v_proj.bias`, [kvHeads * dh], 0.1); }
      add(`model.layers.${i}.post_attention_layernorm.weight`, [d], 0.1, 1);
      add(`model.layers.${i}.mlp.gate_proj.weight`, [dMlp, d], 0.15); add(`model.layers.${i}.mlp.up_proj.weight`, [dMlp, d], 0.15);
      add(`model.layers.${i}.mlp.down_proj.weight`, [d, dMlp], 0.1);
    }
    add('model.norm.weight', [d], 0.1, 1);
    if (!m.tied) add('lm_head.weight', [vocab, d], 0.2);
    config = { model_type: m.modelType, hidden_size: d, intermediate_size: dMlp, num_hidden_layers: m.layers, num_attention_heads: heads, num_key_value_heads: kvHeads, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: m.theta, hidden_act: 'silu', tie_word_embeddings: m.tied, vocab_size: vocab, bos_token_id: 1, eos_token_id: 2 };
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, w] of weights) tensors[name] = { dtype: 'F32', shape: w.shape, data: Float32Array.from(w.data) };
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return weights;
}

// ---- float64 reference forward (one sequence, positions 0..T-1) ----

type Mat = { data: Float64Array; rows: number; cols: number };

const mat = (data: Float64Array, rows: number, cols: number): Mat => ({ data, rows, cols });

/** x [T, in] @ W where W is [in, out] (transposed = false) or [out, in] (transposed = true). */
function matmul(x: Mat, w: { data: Float64Array; shape: number[] }, transposed: boolean, bias?: Float64Array): Mat {
  const [a, b] = w.shape;
  const inp = transposed ? b : a;
  const out = transposed ? a : b;
  const y = new Float64Array(x.rows * out);
  for (let t = 0; t < x.rows; t++) {
    for (let o = 0; o < out; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inp; i++) s += x.data[t * inp + i] * (transposed ? w.data[o * inp + i] : w.data[i * out + o]);
      y[t * out + o] = s;
    }
  }
  return mat(y, x.rows, out);
}

function rowwise(x: Mat, f: (row: Float64Array) => Float64Array): Mat {
  const y = new Float64Array(x.data.length);
  for (let t = 0; t < x.rows; t++) y.set(f(x.data.subarray(t * x.cols, (t + 1) * x.cols)), t * x.cols);
  return mat(y, x.rows, x.cols);
}

const layerNorm = (x: Mat) => rowwise(x, (r) => {
  const mean = r.reduce((a, v) => a + v, 0) / r.length;
  const varc = r.reduce((a, v) => a + (v - mean) ** 2, 0) / r.length;
  return r.map((v) => (v - mean) / Math.sqrt(varc + 1e-5));
});
const rmsNorm = (x: Mat) => rowwise(x, (r) => {
  const ms = r.reduce((a, v) => a + v * v, 0) / r.length;
  return r.map((v) => v / Math.sqrt(ms + 1e-5));
});
const scaleBy = (x: Mat, w: Float64Array, b?: Float64Array) => rowwise(x, (r) => r.map((v, i) => v * w[i] + (b ? b[i] : 0)));
const addM = (x: Mat, y: Mat) => mat(x.data.map((v, i) => v + y.data[i]), x.rows, x.cols);

/** Causal attention; q [T, H·dh], k, v [T, KV·dh]; returns pattern [H, T, T] and z [T, H·dh]. */
function attend(q: Mat, k: Mat, v: Mat, H: number, KV: number, dh: number) {
  const T = q.rows;
  const pattern = new Float64Array(H * T * T);
  const z = new Float64Array(T * H * dh);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / KV));
    for (let i = 0; i < T; i++) {
      const s: number[] = [];
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let e = 0; e < dh; e++) dot += q.data[i * H * dh + h * dh + e] * k.data[j * KV * dh + g * dh + e];
        s.push(dot / Math.sqrt(dh));
      }
      const mx = Math.max(...s);
      const ex = s.map((x) => Math.exp(x - mx));
      const tot = ex.reduce((a, x) => a + x, 0);
      ex.forEach((x, j) => { pattern[(h * T + i) * T + j] = x / tot; });
      for (let e = 0; e < dh; e++) {
        let acc = 0;
        for (let j = 0; j <= i; j++) acc += pattern[(h * T + i) * T + j] * v.data[j * KV * dh + g * dh + e];
        z[i * H * dh + h * dh + e] = acc;
      }
    }
  }
  return { pattern, z: mat(z, T, H * dh) };
}

function rotate(x: Mat, heads: number, dh: number, theta: number): Mat {
  const y = new Float64Array(x.data.length);
  const half = dh / 2;
  for (let t = 0; t < x.rows; t++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < dh; i++) {
        const f = 1 / theta ** ((2 * (i % half)) / dh);
        const ang = t * f;
        const base = t * heads * dh + h * dh;
        const rot = i < half ? -x.data[base + i + half] : x.data[base + i - half];
        y[base + i] = x.data[base + i] * Math.cos(ang) + rot * Math.sin(ang);
      }
    }
  }
  return mat(y, x.rows, x.cols);
}

const geluNew = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const siluF = (v: number) => v / (1 + Math.exp(-v));

/** Hook values (flattened, batch of one) keyed by TransformerLens name. */
export function referenceForward(m: AnyRandomModel, w: Weights, ids: readonly number[]): Map<string, Float64Array> {
  if (isFamilyModel(m)) return hfReferenceForward(familyConfig(m), w, ids);
  const W = (n: string) => {
    const t = w.get(n);
    if (!t) throw new Error(`reference: no weight ${n}`);
    return t;
  };
  const out = new Map<string, Float64Array>();
  const T = ids.length;
  const gather = (n: string, rows: readonly number[]) => {
    const t = W(n);
    const d = t.shape[1];
    const y = new Float64Array(rows.length * d);
    rows.forEach((r, i) => y.set(t.data.subarray(r * d, (r + 1) * d), i * d));
    return mat(y, rows.length, d);
  };
  if (m.family === 'gpt2') {
    const H = m.heads, dh = m.d / m.heads;
    const embed = gather('wte.weight', ids);
    const pos = gather('wpe.weight', ids.map((_, i) => i));
    out.set('hook_embed', embed.data); out.set('hook_pos_embed', pos.data);
    let x = addM(embed, pos);
    for (let L = 0; L < m.layers; L++) {
      const h = `h.${L}`;
      out.set(`blocks.${L}.hook_resid_pre`, x.data);
      const n1 = layerNorm(x);
      const qkv = matmul(scaleBy(n1, W(`${h}.ln_1.weight`).data, W(`${h}.ln_1.bias`).data), W(`${h}.attn.c_attn.weight`), false, W(`${h}.attn.c_attn.bias`).data);
      const part = (k: number) => mat(Float64Array.from({ length: T * m.d }, (_, i) => qkv.data[Math.floor(i / m.d) * 3 * m.d + k * m.d + (i % m.d)]), T, m.d);
      const q = part(0), k = part(1), v = part(2);
      out.set(`blocks.${L}.attn.hook_q`, q.data); out.set(`blocks.${L}.attn.hook_k`, k.data); out.set(`blocks.${L}.attn.hook_v`, v.data);
      const { pattern, z } = attend(q, k, v, H, H, dh);
      out.set(`blocks.${L}.attn.hook_pattern`, pattern); out.set(`blocks.${L}.attn.hook_z`, z.data);
      const attnOut = matmul(z, W(`${h}.attn.c_proj.weight`), false, W(`${h}.attn.c_proj.bias`).data);
      out.set(`blocks.${L}.hook_attn_out`, attnOut.data);
      const mid = addM(x, attnOut);
      out.set(`blocks.${L}.hook_resid_mid`, mid.data);
      const pre = matmul(scaleBy(layerNorm(mid), W(`${h}.ln_2.weight`).data, W(`${h}.ln_2.bias`).data), W(`${h}.mlp.c_fc.weight`), false, W(`${h}.mlp.c_fc.bias`).data);
      const post = mat(pre.data.map(geluNew), pre.rows, pre.cols);
      out.set(`blocks.${L}.mlp.hook_pre`, pre.data); out.set(`blocks.${L}.mlp.hook_post`, post.data);
      const mlpOut = matmul(post, W(`${h}.mlp.c_proj.weight`), false, W(`${h}.mlp.c_proj.bias`).data);
      out.set(`blocks.${L}.hook_mlp_out`, mlpOut.data);
      x = addM(mid, mlpOut);
      out.set(`blocks.${L}.hook_resid_post`, x.data);
    }
    const final = scaleBy(layerNorm(x), W('ln_f.weight').data, W('ln_f.bias').data);
    out.set('logits', matmul(final, W(m.untiedHead ? 'lm_head.weight' : 'wte.weight'), true).data);
    return out;
  }
  const H = m.heads, KV = m.kvHeads, dh = m.d / m.heads;
  let x = gather('model.embed_tokens.weight', ids);
  out.set('hook_embed', x.data);
  const bias = (n: string) => (w.has(n) ? W(n).data : undefined);
  for (let L = 0; L < m.layers; L++) {
    const a = `model.layers.${L}.self_attn`;
    out.set(`blocks.${L}.hook_resid_pre`, x.data);
    const n1 = scaleBy(rmsNorm(x), W(`model.layers.${L}.input_layernorm.weight`).data);
    const q = matmul(n1, W(`${a}.q_proj.weight`), true, bias(`${a}.q_proj.bias`));
    const k = matmul(n1, W(`${a}.k_proj.weight`), true, bias(`${a}.k_proj.bias`));
    const v = matmul(n1, W(`${a}.v_proj.weight`), true, bias(`${a}.v_proj.bias`));
    out.set(`blocks.${L}.attn.hook_q`, q.data); out.set(`blocks.${L}.attn.hook_k`, k.data); out.set(`blocks.${L}.attn.hook_v`, v.data);
    const { pattern, z } = attend(rotate(q, H, dh, m.theta), rotate(k, KV, dh, m.theta), v, H, KV, dh);
    out.set(`blocks.${L}.attn.hook_pattern`, pattern); out.set(`blocks.${L}.attn.hook_z`, z.data);
    const attnOut = matmul(z, W(`${a}.o_proj.weight`), true);
    out.set(`blocks.${L}.hook_attn_out`, attnOut.data);
    const mid = addM(x, attnOut);
    out.set(`blocks.${L}.hook_resid_mid`, mid.data);
    const n2 = scaleBy(rmsNorm(mid), W(`model.layers.${L}.post_attention_layernorm.weight`).data);
    const gate = matmul(n2, W(`model.layers.${L}.mlp.gate_proj.weight`), true);
    const up = matmul(n2, W(`model.layers.${L}.mlp.up_proj.weight`), true);
    const post = mat(gate.data.map((g, i) => siluF(g) * up.data[i]), gate.rows, gate.cols);
    out.set(`blocks.${L}.mlp.hook_pre`, gate.data); out.set(`blocks.${L}.mlp.hook_pre_linear`, up.data); out.set(`blocks.${L}.mlp.hook_post`, post.data);
    const mlpOut = matmul(post, W(`model.layers.${L}.mlp.down_proj.weight`), true);
    out.set(`blocks.${L}.hook_mlp_out`, mlpOut.data);
    x = addM(mid, mlpOut);
    out.set(`blocks.${L}.hook_resid_post`, x.data);
  }
  const final = scaleBy(rmsNorm(x), W('model.norm.weight').data);
  out.set('logits', matmul(final, W(m.tied ? 'model.embed_tokens.weight' : 'lm_head.weight'), true).data);
  return out;
}

/**
 * A random 2-layer Llama (d 32, 4 heads, 2 KV heads) with a WordLevel tokenizer over `words`
 * (ids 4…; 0–3 are <unk>, <s>, </s>, <pad>), split on whitespace: prompts made of those words
 * tokenize one word per token, whatever characters the words hold.
 */
export function writeWordModel(dir: string, words: readonly string[], seed: number, dMlp = 48): void {
  writeRandomModel(dir, { family: 'llama', layers: 2, d: 32, heads: 4, kvHeads: 2, dMlp, vocab: 4 + words.length, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' }, seed);
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2, '<pad>': 3 };
  words.forEach((w, i) => { vocab[w] = 4 + i; });
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({
    version: '1.0', truncation: null, padding: null,
    added_tokens: ['<unk>', '<s>', '</s>', '<pad>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  }));
}
