/**
 * Random-weight Hugging Face checkpoints for benchmarks: a folder with config.json and the
 * weights, laid out exactly as transformers saves GPT2LMHeadModel, LlamaForCausalLM,
 * GPTNeoXForCausalLM (Pythia), Gemma2ForCausalLM or Qwen3ForCausalLM, so interp and a Python peer
 * load the same bytes. Weights are F32 (default), F16 or BF16, in one model.safetensors or, with
 * `maxShardBytes`, sharded as save_pretrained shards them: model-0000i-of-0000N.safetensors,
 * filled in plan order up to the shard size, plus model.safetensors.index.json (weight_map,
 * metadata.total_size). Files are streamed tensor by tensor (a tensor in chunks), so writing a
 * 5 GB checkpoint holds a few tens of megabytes, never the model.
 *
 * Weights are N(0, std) (std 0.02 by default, GPT-2's initializer_range); norm weights are 1
 * (Gemma's, stored as w − 1, are 0) and biases 0, unless `normStd` / `biasStd` perturb them. Each
 * tensor has its own seeded stream (seed ⊕ hash of its name), so a tensor's values depend only on
 * the seed and its name, not on which other tensors the checkpoint holds, nor on its dtype
 * before rounding.
 *
 * Plans (configs as published on the hub, shapes overridable): gpt2Plan (GPT-2 small),
 * llamaPlan (SmolLM-135M), neoxPlan (EleutherAI/pythia-160m), gemma2Plan (google/gemma-2-2b),
 * qwen3Plan (Qwen/Qwen3-0.6B).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeDurably } from '../../src/util/atomic-write.js';

/**
 * How a tensor is initialised: `normal` N(0, std); `ones` / `zeros` exactly; `bias` N(0, biasStd)
 * (0 by default); `norm` 1 + N(0, normStd) (a norm's weight); `norm_offset` N(0, normStd) (a
 * Gemma norm's weight, applied as 1 + w).
 */
export type Init = 'normal' | 'ones' | 'zeros' | 'bias' | 'norm' | 'norm_offset';

/** On-disk dtypes the writer produces (rounded to nearest, ties to even, from the fp32 draw). */
export type CheckpointDtype = 'F32' | 'F16' | 'BF16';

export interface TensorPlan {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

export interface CheckpointPlan {
  /** config.json contents. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly tensors: readonly TensorPlan[];
}

export interface WriteOptions {
  readonly seed?: number;
  /** Standard deviation of 'normal' tensors (default 0.02). */
  readonly std?: number;
  /** Standard deviation of biases (default 0: biases are zero, as in a fresh HF init). */
  readonly biasStd?: number;
  /** Standard deviation of norm weights around their neutral value (default 0: exactly neutral). */
  readonly normStd?: number;
  /** dtype on disk (default F32); config.json's torch_dtype says the same. */
  readonly dtype?: CheckpointDtype;
  /** Shard the weights at this many bytes per file (save_pretrained's max_shard_size); default: one model.safetensors. */
  readonly maxShardBytes?: number;
}

/** What writeCheckpoint wrote. */
export interface WrittenCheckpoint {
  readonly dir: string;
  /** Parameters stored (tied weights once). */
  readonly params: number;
  /** Bytes of tensor data on disk (all shards). */
  readonly bytes: number;
  /** Weight files, in order: model.safetensors, or model-0000i-of-0000N.safetensors. */
  readonly files: readonly string[];
}

/** GPT-2 shape; defaults are GPT-2 small (124M). */
export interface Gpt2Shape {
  readonly nLayer?: number;
  readonly nEmbd?: number;
  readonly nHead?: number;
  readonly vocabSize?: number;
  readonly nPositions?: number;
}

/** GPT2LMHeadModel's tensors (tied lm_head, so not stored; Conv1D weights are [in, out]). */
export function gpt2Plan(shape: Gpt2Shape = {}): CheckpointPlan {
  const L = shape.nLayer ?? 12;
  const d = shape.nEmbd ?? 768;
  const heads = shape.nHead ?? 12;
  const V = shape.vocabSize ?? 50257;
  const P = shape.nPositions ?? 1024;
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    n_embd: d,
    n_layer: L,
    n_head: heads,
    n_positions: P,
    n_ctx: P,
    vocab_size: V,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    bos_token_id: V - 1,
    eos_token_id: V - 1,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
  };
  const t = (name: string, dims: number[], init: Init): TensorPlan => ({ name, shape: dims, init });
  const tensors: TensorPlan[] = [t('wte.weight', [V, d], 'normal'), t('wpe.weight', [P, d], 'normal')];
  for (let i = 0; i < L; i++) {
    const h = `h.${i}`;
    tensors.push(
      t(`${h}.ln_1.weight`, [d], 'ones'), t(`${h}.ln_1.bias`, [d], 'zeros'),
      t(`${h}.attn.c_attn.weight`, [d, 3 * d], 'normal'), t(`${h}.attn.c_attn.bias`, [3 * d], 'bias'),
      t(`${h}.attn.c_proj.weight`, [d, d], 'normal'), t(`${h}.attn.c_proj.bias`, [d], 'bias'),
      t(`${h}.ln_2.weight`, [d], 'ones'), t(`${h}.ln_2.bias`, [d], 'zeros'),
      t(`${h}.mlp.c_fc.weight`, [d, 4 * d], 'normal'), t(`${h}.mlp.c_fc.bias`, [4 * d], 'bias'),
      t(`${h}.mlp.c_proj.weight`, [4 * d, d], 'normal'), t(`${h}.mlp.c_proj.bias`, [d], 'bias'),
    );
  }
  tensors.push(t('ln_f.weight', [d], 'ones'), t('ln_f.bias', [d], 'zeros'));
  return { config, tensors };
}

/** Llama shape; defaults are SmolLM-135M. */
export interface LlamaShape {
  readonly numHiddenLayers?: number;
  readonly hiddenSize?: number;
  readonly intermediateSize?: number;
  readonly numAttentionHeads?: number;
  readonly numKeyValueHeads?: number;
  readonly vocabSize?: number;
  readonly maxPositionEmbeddings?: number;
  readonly tieWordEmbeddings?: boolean;
}

/** LlamaForCausalLM's tensors (nn.Linear weights are [out, in]). */
export function llamaPlan(shape: LlamaShape = {}): CheckpointPlan {
  const L = shape.numHiddenLayers ?? 30;
  const d = shape.hiddenSize ?? 576;
  const m = shape.intermediateSize ?? 1536;
  const h = shape.numAttentionHeads ?? 9;
  const kv = shape.numKeyValueHeads ?? 3;
  const V = shape.vocabSize ?? 49152;
  const tied = shape.tieWordEmbeddings ?? true;
  const dh = d / h;
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: d,
    intermediate_size: m,
    num_hidden_layers: L,
    num_attention_heads: h,
    num_key_value_heads: kv,
    vocab_size: V,
    max_position_embeddings: shape.maxPositionEmbeddings ?? 2048,
    hidden_act: 'silu',
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: tied,
    initializer_range: 0.02,
    bos_token_id: 0,
    eos_token_id: 0,
    torch_dtype: 'float32',
  };
  const t = (name: string, dims: number[], init: Init): TensorPlan => ({ name, shape: dims, init });
  const tensors: TensorPlan[] = [t('model.embed_tokens.weight', [V, d], 'normal')];
  for (let i = 0; i < L; i++) {
    const a = `model.layers.${i}.self_attn`;
    const f = `model.layers.${i}.mlp`;
    tensors.push(
      t(`model.layers.${i}.input_layernorm.weight`, [d], 'ones'),
      t(`${a}.q_proj.weight`, [h * dh, d], 'normal'),
      t(`${a}.k_proj.weight`, [kv * dh, d], 'normal'),
      t(`${a}.v_proj.weight`, [kv * dh, d], 'normal'),
      t(`${a}.o_proj.weight`, [d, h * dh], 'normal'),
      t(`model.layers.${i}.post_attention_layernorm.weight`, [d], 'ones'),
      t(`${f}.gate_proj.weight`, [m, d], 'normal'),
      t(`${f}.up_proj.weight`, [m, d], 'normal'),
      t(`${f}.down_proj.weight`, [d, m], 'normal'),
    );
  }
  tensors.push(t('model.norm.weight', [d], 'ones'));
  if (!tied) tensors.push(t('lm_head.weight', [V, d], 'normal'));
  return { config, tensors };
}

/** GPT-NeoX shape; defaults are EleutherAI/pythia-160m. */
export interface NeoxShape {
  readonly numHiddenLayers?: number;
  readonly hiddenSize?: number;
  readonly intermediateSize?: number;
  readonly numAttentionHeads?: number;
  readonly vocabSize?: number;
  readonly rotaryPct?: number;
}

/** GPTNeoXForCausalLM's tensors: fused per-head query_key_value, biases everywhere, untied embed_out. */
export function neoxPlan(shape: NeoxShape = {}): CheckpointPlan {
  const L = shape.numHiddenLayers ?? 12;
  const d = shape.hiddenSize ?? 768;
  const m = shape.intermediateSize ?? 4 * d;
  const h = shape.numAttentionHeads ?? 12;
  const V = shape.vocabSize ?? 50304;
  // EleutherAI/pythia-160m's config.json (transformers 4.24 field names).
  const config = {
    architectures: ['GPTNeoXForCausalLM'],
    model_type: 'gpt_neox',
    bos_token_id: 0,
    eos_token_id: 0,
    hidden_act: 'gelu',
    hidden_size: d,
    initializer_range: 0.02,
    intermediate_size: m,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 2048,
    num_attention_heads: h,
    num_hidden_layers: L,
    rotary_emb_base: 10000,
    rotary_pct: shape.rotaryPct ?? 0.25,
    tie_word_embeddings: false,
    use_cache: true,
    use_parallel_residual: true,
    vocab_size: V,
    torch_dtype: 'float16',
  };
  const t = (name: string, dims: number[], init: Init): TensorPlan => ({ name, shape: dims, init });
  const tensors: TensorPlan[] = [t('gpt_neox.embed_in.weight', [V, d], 'normal')];
  for (let i = 0; i < L; i++) {
    const p = `gpt_neox.layers.${i}`;
    tensors.push(
      t(`${p}.input_layernorm.weight`, [d], 'norm'), t(`${p}.input_layernorm.bias`, [d], 'bias'),
      t(`${p}.post_attention_layernorm.weight`, [d], 'norm'), t(`${p}.post_attention_layernorm.bias`, [d], 'bias'),
      t(`${p}.attention.query_key_value.weight`, [3 * d, d], 'normal'), t(`${p}.attention.query_key_value.bias`, [3 * d], 'bias'),
      t(`${p}.attention.dense.weight`, [d, d], 'normal'), t(`${p}.attention.dense.bias`, [d], 'bias'),
      t(`${p}.mlp.dense_h_to_4h.weight`, [m, d], 'normal'), t(`${p}.mlp.dense_h_to_4h.bias`, [m], 'bias'),
      t(`${p}.mlp.dense_4h_to_h.weight`, [d, m], 'normal'), t(`${p}.mlp.dense_4h_to_h.bias`, [d], 'bias'),
    );
  }
  tensors.push(t('gpt_neox.final_layer_norm.weight', [d], 'norm'), t('gpt_neox.final_layer_norm.bias', [d], 'bias'));
  tensors.push(t('embed_out.weight', [V, d], 'normal'));
  return { config, tensors };
}

/** Gemma 2 shape; defaults are google/gemma-2-2b. */
export interface Gemma2Shape {
  readonly numHiddenLayers?: number;
  readonly hiddenSize?: number;
  readonly intermediateSize?: number;
  readonly numAttentionHeads?: number;
  readonly numKeyValueHeads?: number;
  readonly headDim?: number;
  readonly vocabSize?: number;
}

/** Gemma2ForCausalLM's tensors: four norms per layer ((1 + w), stored w), separate q/k/v/o, GeGLU, tied embeddings. */
export function gemma2Plan(shape: Gemma2Shape = {}): CheckpointPlan {
  const L = shape.numHiddenLayers ?? 26;
  const d = shape.hiddenSize ?? 2304;
  const m = shape.intermediateSize ?? 9216;
  const h = shape.numAttentionHeads ?? 8;
  const kv = shape.numKeyValueHeads ?? 4;
  const dh = shape.headDim ?? 256;
  const V = shape.vocabSize ?? 256000;
  // google/gemma-2-2b's config.json.
  const config = {
    architectures: ['Gemma2ForCausalLM'],
    model_type: 'gemma2',
    attention_bias: false,
    attention_dropout: 0.0,
    attn_logit_softcapping: 50.0,
    bos_token_id: 2,
    cache_implementation: 'hybrid',
    eos_token_id: 1,
    final_logit_softcapping: 30.0,
    head_dim: dh,
    hidden_act: 'gelu_pytorch_tanh',
    hidden_activation: 'gelu_pytorch_tanh',
    hidden_size: d,
    initializer_range: 0.02,
    intermediate_size: m,
    max_position_embeddings: 8192,
    num_attention_heads: h,
    num_hidden_layers: L,
    num_key_value_heads: kv,
    pad_token_id: 0,
    query_pre_attn_scalar: 256,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    sliding_window: 4096,
    use_cache: true,
    vocab_size: V,
    torch_dtype: 'float32',
  };
  const t = (name: string, dims: number[], init: Init): TensorPlan => ({ name, shape: dims, init });
  const tensors: TensorPlan[] = [t('model.embed_tokens.weight', [V, d], 'normal')];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    tensors.push(
      t(`${p}.input_layernorm.weight`, [d], 'norm_offset'),
      t(`${p}.self_attn.q_proj.weight`, [h * dh, d], 'normal'),
      t(`${p}.self_attn.k_proj.weight`, [kv * dh, d], 'normal'),
      t(`${p}.self_attn.v_proj.weight`, [kv * dh, d], 'normal'),
      t(`${p}.self_attn.o_proj.weight`, [d, h * dh], 'normal'),
      t(`${p}.post_attention_layernorm.weight`, [d], 'norm_offset'),
      t(`${p}.pre_feedforward_layernorm.weight`, [d], 'norm_offset'),
      t(`${p}.mlp.gate_proj.weight`, [m, d], 'normal'),
      t(`${p}.mlp.up_proj.weight`, [m, d], 'normal'),
      t(`${p}.mlp.down_proj.weight`, [d, m], 'normal'),
      t(`${p}.post_feedforward_layernorm.weight`, [d], 'norm_offset'),
    );
  }
  tensors.push(t('model.norm.weight', [d], 'norm_offset'));
  return { config, tensors };
}

/** Qwen3 shape; defaults are Qwen/Qwen3-0.6B. */
export interface Qwen3Shape {
  readonly numHiddenLayers?: number;
  readonly hiddenSize?: number;
  readonly intermediateSize?: number;
  readonly numAttentionHeads?: number;
  readonly numKeyValueHeads?: number;
  readonly headDim?: number;
  readonly vocabSize?: number;
  readonly tieWordEmbeddings?: boolean;
}

/** Qwen3ForCausalLM's tensors: per-head q_norm/k_norm, no biases, SwiGLU, tied embeddings (0.6B). */
export function qwen3Plan(shape: Qwen3Shape = {}): CheckpointPlan {
  const L = shape.numHiddenLayers ?? 28;
  const d = shape.hiddenSize ?? 1024;
  const m = shape.intermediateSize ?? 3072;
  const h = shape.numAttentionHeads ?? 16;
  const kv = shape.numKeyValueHeads ?? 8;
  const dh = shape.headDim ?? 128;
  const V = shape.vocabSize ?? 151936;
  const tied = shape.tieWordEmbeddings ?? true;
  // Qwen/Qwen3-0.6B's config.json.
  const config = {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    head_dim: dh,
    hidden_act: 'silu',
    hidden_size: d,
    initializer_range: 0.02,
    intermediate_size: m,
    max_position_embeddings: 40960,
    max_window_layers: L,
    num_attention_heads: h,
    num_hidden_layers: L,
    num_key_value_heads: kv,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: tied,
    use_cache: true,
    use_sliding_window: false,
    vocab_size: V,
    torch_dtype: 'bfloat16',
  };
  const t = (name: string, dims: number[], init: Init): TensorPlan => ({ name, shape: dims, init });
  const tensors: TensorPlan[] = [t('model.embed_tokens.weight', [V, d], 'normal')];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    tensors.push(
      t(`${p}.input_layernorm.weight`, [d], 'norm'),
      t(`${p}.self_attn.q_proj.weight`, [h * dh, d], 'normal'),
      t(`${p}.self_attn.k_proj.weight`, [kv * dh, d], 'normal'),
      t(`${p}.self_attn.v_proj.weight`, [kv * dh, d], 'normal'),
      t(`${p}.self_attn.o_proj.weight`, [d, h * dh], 'normal'),
      t(`${p}.self_attn.q_norm.weight`, [dh], 'norm'),
      t(`${p}.self_attn.k_norm.weight`, [dh], 'norm'),
      t(`${p}.post_attention_layernorm.weight`, [d], 'norm'),
      t(`${p}.mlp.gate_proj.weight`, [m, d], 'normal'),
      t(`${p}.mlp.up_proj.weight`, [m, d], 'normal'),
      t(`${p}.mlp.down_proj.weight`, [d, m], 'normal'),
    );
  }
  tensors.push(t('model.norm.weight', [d], 'norm'));
  if (!tied) tensors.push(t('lm_head.weight', [V, d], 'normal'));
  return { config, tensors };
}

/** Parameters of a plan (tensors stored; tied weights once). */
export function planParams(plan: CheckpointPlan): number {
  return plan.tensors.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
}

/** FNV-1a of a string, 32-bit. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A seeded N(0, std) stream: sfc32 seeded by (seed, name), Box–Muller pairs. Filling a tensor in
 * chunks of even length gives the same values as filling it at once.
 */
class NormalStream {
  private a: number;
  private b: number;
  private c = 0x9e3779b9;
  private d = 1;

  constructor(private readonly std: number, seed: number, name: string) {
    this.a = seed >>> 0;
    this.b = hash32(name);
    for (let i = 0; i < 16; i++) this.next(); // mix the seed in
  }

  private next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  fill(out: Float32Array): void {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.next(); // (0, 1]
      const u2 = this.next();
      const r = this.std * Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
  }
}

/** Fills `out` with N(0, std) from a sfc32 stream seeded by (seed, name), via Box–Muller. */
export function fillNormal(out: Float32Array, std: number, seed: number, name: string): void {
  new NormalStream(std, seed, name).fill(out);
}

const DTYPE_BYTES: Readonly<Record<CheckpointDtype, number>> = { F32: 4, F16: 2, BF16: 2 };
/** Elements generated and written at a time (64 MiB of fp32). */
const CHUNK = 1 << 24;

/** fp32 → bf16 bit patterns, round to nearest, ties to even (as torch's .to(torch.bfloat16)). */
function toBf16Bits(values: Float32Array, out: Uint16Array): void {
  const u32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < u32.length; i++) {
    const x = u32[i];
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
}

/** fp32 → binary16 bit patterns, round to nearest even (normal range only: benchmark weights are small). */
function toF16Bits(values: Float32Array, out: Uint16Array): void {
  const u32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < u32.length; i++) {
    const x = u32[i];
    const sign = (x >>> 16) & 0x8000;
    const e = ((x >>> 23) & 0xff) - 127 + 15;
    if (e <= 0) { out[i] = sign; continue; } // flush the (rare) subnormals to zero
    if (e >= 31) { out[i] = sign | 0x7c00; continue; }
    const mant = x & 0x7fffff;
    let h = sign | (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h += 1;
    out[i] = h;
  }
}

/** Writes one tensor's values, generated chunk by chunk, at the fd's position. */
function writeTensor(fd: number, p: TensorPlan, dtype: CheckpointDtype, draw: { std: number; biasStd: number; normStd: number; seed: number }): void {
  const n = p.shape.reduce((x, y) => x * y, 1);
  const offset = p.init === 'ones' || p.init === 'norm' ? 1 : 0;
  const std = p.init === 'normal' ? draw.std : p.init === 'bias' ? draw.biasStd : p.init === 'norm' || p.init === 'norm_offset' ? draw.normStd : 0;
  const stream = std > 0 ? new NormalStream(std, draw.seed, p.name) : null;
  const chunk = new Float32Array(Math.min(n, CHUNK));
  const half = dtype === 'F32' ? null : new Uint16Array(chunk.length);
  for (let done = 0; done < n; done += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, n - done));
    if (stream) stream.fill(part);
    else part.fill(0);
    if (offset !== 0) for (let i = 0; i < part.length; i++) part[i] += offset;
    if (half === null) {
      writeAll(fd, new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
    } else {
      const bits = half.subarray(0, part.length);
      if (dtype === 'BF16') toBf16Bits(part, bits);
      else toF16Bits(part, bits);
      writeAll(fd, new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
    }
  }
}

/** Writes one safetensors file holding `tensors` (in order), streamed, durably. */
function writeShard(file: string, tensors: readonly TensorPlan[], dtype: CheckpointDtype, draw: { std: number; biasStd: number; normStd: number; seed: number }): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const p of tensors) {
    const bytes = p.shape.reduce((x, y) => x * y, 1) * DTYPE_BYTES[dtype];
    header[p.name] = { dtype, shape: [...p.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length), 0);
  writeDurably(file, (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, json);
    for (const p of tensors) writeTensor(fd, p, dtype, draw);
  });
}

/** Splits tensors into shards as save_pretrained does: in order, a new shard when the next tensor would overflow. */
function shardTensors(tensors: readonly TensorPlan[], dtype: CheckpointDtype, maxBytes: number): TensorPlan[][] {
  const shards: TensorPlan[][] = [[]];
  let size = 0;
  for (const p of tensors) {
    const bytes = p.shape.reduce((x, y) => x * y, 1) * DTYPE_BYTES[dtype];
    if (size > 0 && size + bytes > maxBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(p);
    size += bytes;
  }
  return shards;
}

const TORCH_DTYPE: Readonly<Record<CheckpointDtype, string>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/**
 * Writes `plan` as a Hugging Face checkpoint folder `dir` (created if needed): config.json and
 * model.safetensors, or with `maxShardBytes` the shards and model.safetensors.index.json.
 */
export function writeCheckpoint(dir: string, plan: CheckpointPlan, options: WriteOptions = {}): WrittenCheckpoint {
  const dtype = options.dtype ?? 'F32';
  const draw = { seed: options.seed ?? 0, std: options.std ?? 0.02, biasStd: options.biasStd ?? 0, normStd: options.normStd ?? 0 };
  fs.mkdirSync(dir, { recursive: true });
  const shards = options.maxShardBytes === undefined ? [[...plan.tensors]] : shardTensors(plan.tensors, dtype, options.maxShardBytes);
  const n = shards.length;
  const files = options.maxShardBytes === undefined
    ? ['model.safetensors']
    : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((tensors, i) => {
    writeShard(path.join(dir, files[i]), tensors, dtype, draw);
    for (const p of tensors) weightMap[p.name] = files[i];
  });
  const params = planParams(plan);
  const bytes = params * DTYPE_BYTES[dtype];
  if (options.maxShardBytes !== undefined) {
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: bytes }, weight_map: weightMap }, null, 2)}\n`);
  }
  const config = { ...plan.config, torch_dtype: TORCH_DTYPE[dtype] };
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return { dir, params, bytes, files };
}
