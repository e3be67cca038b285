/**
 * Random-weight Hugging Face checkpoints for benchmarks: a folder with config.json and one
 * model.safetensors (F32), laid out exactly as transformers saves GPT2LMHeadModel or
 * LlamaForCausalLM, so interp and a Python peer load the same bytes.
 *
 * Weights are N(0, std) (std 0.02 by default, GPT-2's initializer_range); norm weights are 1 and
 * biases 0 (std 0 for biases unless `biasStd` is given). Each tensor has its own seeded stream
 * (seed ⊕ hash of its name), so a tensor's values depend only on the seed and its name, not on
 * which other tensors the checkpoint holds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSafetensors } from '../../src/model/index.js';
import type { WritableTensor } from '../../src/model/index.js';

/** How a tensor is initialised. */
export type Init = 'normal' | 'ones' | 'zeros' | 'bias';

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

/** FNV-1a of a string, 32-bit. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Fills `out` with N(0, std) from a sfc32 stream seeded by (seed, name), via Box–Muller. */
export function fillNormal(out: Float32Array, std: number, seed: number, name: string): void {
  let a = seed >>> 0;
  let b = hash32(name);
  let c = 0x9e3779b9;
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next(); // mix the seed in
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - next(); // (0, 1]
    const u2 = next();
    const r = std * Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
}

/**
 * Writes `plan` as a Hugging Face checkpoint folder `dir` (created if needed): config.json and
 * model.safetensors. Returns the folder and the number of parameters.
 */
export function writeCheckpoint(dir: string, plan: CheckpointPlan, options: WriteOptions = {}): { dir: string; params: number } {
  const seed = options.seed ?? 0;
  const std = options.std ?? 0.02;
  const biasStd = options.biasStd ?? 0;
  fs.mkdirSync(dir, { recursive: true });
  const tensors: Record<string, WritableTensor> = {};
  let params = 0;
  for (const p of plan.tensors) {
    const n = p.shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    if (p.init === 'ones') data.fill(1);
    else if (p.init === 'normal') fillNormal(data, std, seed, p.name);
    else if (p.init === 'bias' && biasStd > 0) fillNormal(data, biasStd, seed, p.name);
    tensors[p.name] = { dtype: 'F32', shape: p.shape, data };
    params += n;
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(plan.config, null, 2)}\n`);
  return { dir, params };
}
