/**
 * Random-weight checkpoints of the GPT-NeoX, Gemma (1, 2, 3, and the multimodal gemma3 wrapper)
 * and Qwen3 families in Hugging Face layout: their config.json and the weights to write. The
 * float64 reference of hf-reference.ts reads the same config, so the runtime is held to
 * transformers' semantics on shapes the shared fixtures do not have.
 *
 * Init scales are chosen so that bugs show: q/k large enough that attention is not flat (a wrong
 * mask or window moves the pattern), norm weights away from 1 (so (1 + w) against w shows),
 * Gemma 3 / Qwen3 q/k-norm weights spread across dims (so norm-before-rotary shows), and a final
 * norm scale that keeps tied models from merely repeating the current token.
 */

export type LayerType = 'sliding_attention' | 'full_attention';

export interface RandomNeox {
  readonly family: 'gpt_neox';
  readonly layers: number;
  readonly d: number;
  readonly heads: number;
  readonly dMlp: number;
  readonly vocab: number;
  /** Fraction of each head's dims that rotary rotates (int(dh · pct) must be even). */
  readonly rotaryPct: number;
  readonly rotaryBase: number;
  readonly parallel: boolean;
}

export interface RandomGemma {
  readonly family: 'gemma';
  /** gemma3 writes the multimodal wrapper: text_config plus language_model.model.* weights. */
  readonly modelType: 'gemma' | 'gemma2' | 'gemma3_text' | 'gemma3';
  readonly layers: number;
  readonly d: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dMlp: number;
  readonly vocab: number;
  readonly theta: number;
  /** Gemma 3: rope_local_base_freq of the sliding layers. */
  readonly localTheta?: number;
  /** sliding_window (Gemma 2, 3). */
  readonly window?: number;
  /** Written to config.json when given; otherwise transformers' default pattern applies. */
  readonly layerTypes?: readonly LayerType[];
  /** Gemma 3 sliding_window_pattern (written when given). */
  readonly pattern?: number;
  readonly queryPreAttnScalar?: number;
  readonly attnSoftcap?: number | null;
  readonly finalSoftcap?: number | null;
  /** Gemma 3: linear rope_scaling of the full-attention layers. */
  readonly ropeLinearFactor?: number;
}

export interface RandomQwen3 {
  readonly family: 'qwen3';
  readonly layers: number;
  readonly d: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dMlp: number;
  readonly vocab: number;
  readonly theta: number;
  readonly tied: boolean;
}

export type RandomFamilyModel = RandomNeox | RandomGemma | RandomQwen3;

export const isFamilyModel = (m: { readonly family: string }): m is RandomFamilyModel => m.family === 'gpt_neox' || m.family === 'gemma' || m.family === 'qwen3';

/** Draws one tensor: N(offset, scale) per element (the caller rounds to fp32 and records it). */
export type AddTensor = (name: string, shape: number[], scale: number, offset?: number) => void;

/** The config.json of a random model, as transformers would write it. */
export function familyConfig(m: RandomFamilyModel): Record<string, unknown> {
  if (m.family === 'gpt_neox') {
    return {
      architectures: ['GPTNeoXForCausalLM'], model_type: 'gpt_neox', vocab_size: m.vocab, hidden_size: m.d, num_hidden_layers: m.layers,
      num_attention_heads: m.heads, intermediate_size: m.dMlp, hidden_act: 'gelu', rotary_pct: m.rotaryPct, rotary_emb_base: m.rotaryBase,
      max_position_embeddings: 64, layer_norm_eps: 1e-5, bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: false,
      use_parallel_residual: m.parallel, attention_bias: true, rope_scaling: null,
    };
  }
  if (m.family === 'qwen3') {
    return {
      architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', vocab_size: m.vocab, hidden_size: m.d, intermediate_size: m.dMlp,
      num_hidden_layers: m.layers, num_attention_heads: m.heads, num_key_value_heads: m.kvHeads, head_dim: m.headDim, hidden_act: 'silu',
      max_position_embeddings: 64, rms_norm_eps: 1e-6, tie_word_embeddings: m.tied, rope_theta: m.theta, rope_scaling: null,
      attention_bias: false, use_sliding_window: false, sliding_window: null, bos_token_id: 0, eos_token_id: 1,
    };
  }
  const text: Record<string, unknown> = {
    model_type: m.modelType === 'gemma3' ? 'gemma3_text' : m.modelType, vocab_size: m.vocab, hidden_size: m.d, intermediate_size: m.dMlp,
    num_hidden_layers: m.layers, num_attention_heads: m.heads, num_key_value_heads: m.kvHeads, head_dim: m.headDim,
    hidden_activation: 'gelu_pytorch_tanh', max_position_embeddings: 64, rms_norm_eps: 1e-6, pad_token_id: 0, eos_token_id: 1, bos_token_id: 2,
    tie_word_embeddings: true, rope_theta: m.theta, attention_bias: false,
  };
  if (m.modelType !== 'gemma') {
    Object.assign(text, {
      query_pre_attn_scalar: m.queryPreAttnScalar ?? m.headDim, sliding_window: m.window ?? null,
      attn_logit_softcapping: m.attnSoftcap ?? null, final_logit_softcapping: m.finalSoftcap ?? null,
      ...(m.layerTypes ? { layer_types: m.layerTypes } : {}),
    });
  }
  if (m.modelType === 'gemma3_text' || m.modelType === 'gemma3') {
    Object.assign(text, {
      rope_local_base_freq: m.localTheta ?? 10000,
      rope_scaling: m.ropeLinearFactor ? { rope_type: 'linear', factor: m.ropeLinearFactor } : null,
      ...(m.pattern ? { sliding_window_pattern: m.pattern } : {}),
    });
  }
  if (m.modelType !== 'gemma3') return { architectures: [m.modelType === 'gemma' ? 'GemmaForCausalLM' : m.modelType === 'gemma2' ? 'Gemma2ForCausalLM' : 'Gemma3ForCausalLM'], ...text };
  return {
    architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: text,
    vision_config: { model_type: 'siglip_vision_model', hidden_size: 16, num_hidden_layers: 1 },
    mm_tokens_per_image: 4, boi_token_index: 3, eoi_token_index: 4, image_token_index: 5, pad_token_id: 0, eos_token_id: 1, bos_token_id: 2,
  };
}

/** Draws every weight of a random model through `add`, in the order transformers lists them. */
export function drawFamilyWeights(m: RandomFamilyModel, add: AddTensor): void {
  if (m.family === 'gpt_neox') {
    const { d, dMlp: f } = m;
    add('gpt_neox.embed_in.weight', [m.vocab, d], 0.5);
    for (let i = 0; i < m.layers; i++) {
      const p = `gpt_neox.layers.${i}`;
      add(`${p}.input_layernorm.weight`, [d], 0.1, 1); add(`${p}.input_layernorm.bias`, [d], 0.1);
      add(`${p}.post_attention_layernorm.weight`, [d], 0.1, 1); add(`${p}.post_attention_layernorm.bias`, [d], 0.1);
      add(`${p}.attention.query_key_value.weight`, [3 * d, d], 0.3); add(`${p}.attention.query_key_value.bias`, [3 * d], 0.05);
      add(`${p}.attention.dense.weight`, [d, d], 0.1); add(`${p}.attention.dense.bias`, [d], 0.05);
      add(`${p}.mlp.dense_h_to_4h.weight`, [f, d], 0.15); add(`${p}.mlp.dense_h_to_4h.bias`, [f], 0.05);
      add(`${p}.mlp.dense_4h_to_h.weight`, [d, f], 0.1); add(`${p}.mlp.dense_4h_to_h.bias`, [d], 0.05);
    }
    add('gpt_neox.final_layer_norm.weight', [d], 0.1, 1); add('gpt_neox.final_layer_norm.bias', [d], 0.1);
    add('embed_out.weight', [m.vocab, d], 0.3);
    return;
  }
  const { d, dMlp: f, heads: H, kvHeads: KV, headDim: dh } = m;
  const gemma = m.family === 'gemma';
  const gen = m.family === 'gemma' ? ({ gemma: 1, gemma2: 2, gemma3_text: 3, gemma3: 3 } as const)[m.modelType] : 0;
  const qkNorm = m.family === 'qwen3' || gen === 3;
  const prefix = m.family === 'gemma' && m.modelType === 'gemma3' ? 'language_model.model' : 'model';
  // Gemma norms store w of (1 + w): N(0, 0.1); Qwen3's store the scale itself: 1 + N(0, 0.1).
  const norm = (name: string, n: number) => add(name, [n], 0.1, gemma ? 0 : 1);
  add(`${prefix}.embed_tokens.weight`, [m.vocab, d], gemma ? 0.1 : 0.5);
  for (let i = 0; i < m.layers; i++) {
    const p = `${prefix}.layers.${i}`;
    norm(`${p}.input_layernorm.weight`, d);
    add(`${p}.self_attn.q_proj.weight`, [H * dh, d], 0.25); add(`${p}.self_attn.k_proj.weight`, [KV * dh, d], 0.25);
    add(`${p}.self_attn.v_proj.weight`, [KV * dh, d], 0.15); add(`${p}.self_attn.o_proj.weight`, [d, H * dh], 0.12);
    if (qkNorm) { add(`${p}.self_attn.q_norm.weight`, [dh], 0.6, gemma ? 0.5 : 1.5); add(`${p}.self_attn.k_norm.weight`, [dh], 0.6, gemma ? 0.5 : 1.5); }
    norm(`${p}.post_attention_layernorm.weight`, d);
    if (gen >= 2) norm(`${p}.pre_feedforward_layernorm.weight`, d);
    add(`${p}.mlp.gate_proj.weight`, [f, d], 0.15); add(`${p}.mlp.up_proj.weight`, [f, d], 0.15);
    add(`${p}.mlp.down_proj.weight`, [d, f], 0.12);
    if (gen >= 2) norm(`${p}.post_feedforward_layernorm.weight`, d);
  }
  add(`${prefix}.norm.weight`, [d], gemma ? 0.5 : 0.1, gemma ? 2 : 1);
  if (m.family === 'qwen3' && !m.tied) add('lm_head.weight', [m.vocab, d], 0.4);
}
