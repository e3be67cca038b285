/**
 * Hook semantics checked against TransformerLens' definitions (components/layer_norm.py,
 * rms_norm.py, abstract_attention.py, utils.get_act_name): norms' hook_scale, masked attention
 * scores at −inf, what hook_rot_k holds under the KV cache, get_act_name's short forms; and the
 * config errors of the new families, each naming its field. Random checkpoints only, so a clone
 * without ../shared runs all of it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.js';
import { openFamily } from '../../src/runtime/families/index.js';
import { getActName } from '../../src/hooks.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { writeRandomModel } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';

isolateCache();

const tmp = (name: string) => mkdtempSync(path.join(tmpdir(), `interp-${name}-`));

describe('hooks as TransformerLens defines them', () => {
  let llama: HookedTransformer;
  let gpt2: HookedTransformer;
  beforeAll(async () => {
    const a = tmp('llama');
    writeRandomModel(a, { family: 'llama', layers: 2, d: 16, heads: 4, kvHeads: 2, dMlp: 24, vocab: 40, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' }, 5);
    llama = await HookedTransformer.load(a);
    const b = tmp('gpt2');
    writeRandomModel(b, { family: 'gpt2', layers: 2, d: 16, heads: 2, vocab: 40, nPos: 32, untiedHead: false }, 6);
    gpt2 = await HookedTransformer.load(b);
  });
  afterAll(async () => {
    await llama.dispose();
    await gpt2.dispose();
  });

  it('resolves get_act_name\'s short forms like TransformerLens', () => {
    const cases: [string, string][] = [
      ['resid_pre.1', 'blocks.1.hook_resid_pre'],
      ['attn_out.0', 'blocks.0.hook_attn_out'],
      ['mlp_out.1', 'blocks.1.hook_mlp_out'],
      ['pattern.1', 'blocks.1.attn.hook_pattern'],
      ['pattern1', 'blocks.1.attn.hook_pattern'],
      ['attn.0', 'blocks.0.attn.hook_pattern'],
      ['attn_scores.0', 'blocks.0.attn.hook_attn_scores'],
      ['attn_logits.0', 'blocks.0.attn.hook_attn_scores'],
      ['q.1', 'blocks.1.attn.hook_q'],
      ['query.1', 'blocks.1.attn.hook_q'],
      ['k1a', 'blocks.1.attn.hook_k'],
      ['z.0', 'blocks.0.attn.hook_z'],
      ['mlp_post.1', 'blocks.1.mlp.hook_post'],
      ['post.1', 'blocks.1.mlp.hook_post'],
      ['mlp_pre.0', 'blocks.0.mlp.hook_pre'],
      ['scale', 'ln_final.hook_scale'],
      ['normalized', 'ln_final.hook_normalized'],
      ['scale.1.ln1', 'blocks.1.ln1.hook_scale'],
      ['scale1ln2', 'blocks.1.ln2.hook_scale'],
      ['normalized.0.ln2', 'blocks.0.ln2.hook_normalized'],
      ['normalized.ln_final', 'ln_final.hook_normalized'],
      ['embed', 'hook_embed'],
      ['rot_k.0', 'blocks.0.attn.hook_rot_k'],
    ];
    for (const [short, full] of cases) expect(llama.hook(short).name, short).toBe(full);
    expect(gpt2.hook('pos_embed').name).toBe('hook_pos_embed');
    // The same function as TransformerLens' get_act_name(name, layer, layer_type).
    expect(getActName('resid_post', 6)).toBe('blocks.6.hook_resid_post');
    expect(getActName('scale', 2, 'ln1')).toBe('blocks.2.ln1.hook_scale');
    expect(getActName('v', 3, 'a')).toBe('blocks.3.attn.hook_v');
    expect(() => llama.hook('resid_mid.9')).toThrow(/unknown hook/);
  });

  it('ln.hook_scale is √(mean(x²)+eps) for RMSNorm and √(var+eps) for LayerNorm, and normalized · scale gives back the input', async () => {
    const ids = [[1, 5, 9, 30, 2, 7]];
    for (const [model, kind] of [[llama, 'rms'], [gpt2, 'layer']] as const) {
      const out = await model.run(ids, { fetch: ['blocks.1.hook_resid_pre', 'blocks.1.ln1.hook_scale', 'blocks.1.ln1.hook_normalized', 'ln_final.hook_scale'], logits: false });
      const x = out.hooks.get('blocks.1.hook_resid_pre') as { data: Float32Array; shape: number[] };
      const scale = out.hooks.get('blocks.1.ln1.hook_scale') as { data: Float32Array; shape: number[] };
      const normalized = out.hooks.get('blocks.1.ln1.hook_normalized') as { data: Float32Array };
      expect(scale.shape).toEqual([1, 6, 1]);
      expect(out.hooks.get('ln_final.hook_scale')?.shape).toEqual([1, 6, 1]);
      const d = 16;
      const eps = 1e-5;
      for (let t = 0; t < 6; t++) {
        const row = Array.from(x.data.subarray(t * d, (t + 1) * d));
        const mean = kind === 'layer' ? row.reduce((a, v) => a + v, 0) / d : 0;
        const centred = row.map((v) => v - mean);
        const expected = Math.sqrt(centred.reduce((a, v) => a + v * v, 0) / d + eps);
        expect(scale.data[t]).toBeCloseTo(expected, 5);
        for (let j = 0; j < d; j++) expect(normalized[`data`][t * d + j] * scale.data[t]).toBeCloseTo(centred[j], 4);
      }
    }
  });

  it('masked attention scores are −inf (as TransformerLens\' IGNORE) while a padding query still gets a finite pattern', async () => {
    const out = await llama.run([[1, 5, 9, 30], [1, 5]], { fetch: ['blocks.0.attn.hook_attn_scores', 'blocks.0.attn.hook_pattern'], logits: true });
    const scores = (out.hooks.get('blocks.0.attn.hook_attn_scores') as { data: Float32Array }).data;
    const pattern = (out.hooks.get('blocks.0.attn.hook_pattern') as { data: Float32Array }).data;
    const T = 4;
    // Row 0 (no padding), head 0: future keys are −inf, the rest finite.
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) expect(Number.isFinite(scores[i * T + j])).toBe(j <= i);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) expect(scores[i * T + j]).toBe(-Infinity);
    // Row 1 is left-padded by 2: its padding keys are −inf for every query, and nothing is NaN.
    expect(pattern.every((v) => Number.isFinite(v))).toBe(true);
    expect((out.logits as { data: Float32Array }).data.every((v) => Number.isFinite(v))).toBe(true);
    const row1 = 4 * T * T; // batch row 1 starts after 4 heads of row 0
    for (let i = 0; i < T; i++) for (let j = 0; j < 2; j++) expect(scores[row1 + i * T + j]).toBe(-Infinity);
  });

  it('hook_rot_k under the KV cache holds the new positions only, rotated at their absolute positions', async () => {
    const prompt = [1, 5, 9, 30, 2];
    const full = await llama.run([[...prompt, 11]], { fetch: ['blocks.1.attn.hook_rot_k'], logits: false });
    const batch = llama.batch([prompt]);
    const first = await llama.step({ ids: batch.ids, attention: batch.attention, positionIds: batch.positionIds, batch: 1, positions: prompt.length }, { keepCache: true });
    const step = await llama.step({ ids: BigInt64Array.from([11n]), attention: Uint8Array.from([1]), positionIds: BigInt64Array.from([BigInt(prompt.length)]), batch: 1, positions: 1 }, { cache: first.cache, keepCache: true, fetch: ['blocks.1.attn.hook_rot_k'] });
    const cached = step.hooks.get('blocks.1.attn.hook_rot_k') as { data: Float32Array; shape: number[] };
    expect(cached.shape).toEqual([1, 1, 2, 4]); // [b, new positions, kv, dh]
    const whole = (full.hooks.get('blocks.1.attn.hook_rot_k') as { data: Float32Array }).data;
    const last = whole.subarray(prompt.length * 8, (prompt.length + 1) * 8);
    for (let i = 0; i < 8; i++) expect(cached.data[i]).toBeCloseTo(last[i], 5);
  });

  it('a qwen3 checkpoint without q_norm weights is refused naming the missing key', async () => {
    const dir = tmp('qwen3');
    writeRandomModel(dir, { family: 'llama', layers: 1, d: 16, heads: 2, kvHeads: 1, dMlp: 24, vocab: 40, theta: 1e6, tied: false, qkvBias: false, modelType: 'qwen3' as 'llama' }, 7);
    const config = path.join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), head_dim: 8 })); // Qwen3Config's default is 128
    await expect(HookedTransformer.load(dir)).rejects.toThrow(/q_norm\.weight/);
  });
});

describe('config errors of the new families name the field', () => {
  const gemma2 = { model_type: 'gemma2', hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, vocab_size: 40, sliding_window: 4 };
  const neox = { model_type: 'gpt_neox', hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, vocab_size: 40, rotary_pct: 0.5 };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown layer_types entry', { ...gemma2, layer_types: ['sliding_attention', 'chunked_attention'] }, /"layer_types"\[1\] is "chunked_attention"/],
    ['a layer_types list of the wrong length', { ...gemma2, layer_types: ['sliding_attention'] }, /"layer_types" has 1 entries but num_hidden_layers is 2/],
    ['sliding_window 0', { ...gemma2, sliding_window: 0 }, /"sliding_window" must be a positive integer, got 0/],
    ['a negative sliding_window', { ...gemma2, sliding_window: -8 }, /"sliding_window" must be a positive integer/],
    ['sliding layers without a window', { ...gemma2, sliding_window: null, layer_types: ['sliding_attention', 'full_attention'] }, /sliding layers but "sliding_window"/],
    ['rotary_pct 0', { ...neox, rotary_pct: 0 }, /"rotary_pct" must be in \(0, 1\], got 0/],
    ['rotary_pct above 1', { ...neox, rotary_pct: 1.5 }, /"rotary_pct" must be in \(0, 1\], got 1.5/],
    ['a gemma3 config without text_config', { model_type: 'gemma3' }, /"text_config"/],
    ['a non-positive soft-cap', { ...gemma2, attn_logit_softcapping: -1 }, /"attn_logit_softcapping" must be a positive number or null/],
  ];
  for (const [what, raw, message] of cases) {
    it(what, () => {
      let error: unknown;
      try {
        openFamily(raw, '/models/x/config.json');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain('/models/x/config.json');
    });
  }

  it('takes head_dim defaults from the transformers config classes, not hidden_size / heads', () => {
    const noHeadDim = (t: string) => ({ model_type: t, hidden_size: 64, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, vocab_size: 40 });
    expect(openFamily(noHeadDim('qwen3'), 'c.json').config.dHead).toBe(128);
    expect(openFamily(noHeadDim('gemma'), 'c.json').config.dHead).toBe(256);
    expect(openFamily(noHeadDim('gemma2'), 'c.json').config.dHead).toBe(256);
    expect(openFamily(noHeadDim('llama'), 'c.json').config.dHead).toBe(32);
  });

  it('reads the layer kinds Hugging Face derives when layer_types is absent', () => {
    const g2 = openFamily(gemma2, 'c.json').config as unknown as { layerTypes: string[] };
    expect(g2.layerTypes).toEqual(['sliding_attention', 'full_attention']);
    const g3 = openFamily({ model_type: 'gemma3_text', hidden_size: 16, intermediate_size: 32, num_hidden_layers: 7, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, vocab_size: 40, sliding_window: 4, sliding_window_pattern: 3 }, 'c.json').config as unknown as { layerTypes: string[] };
    expect(g3.layerTypes).toEqual(['sliding_attention', 'sliding_attention', 'full_attention', 'sliding_attention', 'sliding_attention', 'full_attention', 'sliding_attention']);
    const multimodal = openFamily({ model_type: 'gemma3', text_config: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, vocab_size: 40 } }, 'c.json');
    expect(multimodal.name).toBe('gemma');
    expect(multimodal.config.slidingWindow).toBe(4096); // Gemma3TextConfig's default
    const qwen = openFamily({ model_type: 'qwen2', hidden_size: 16, intermediate_size: 32, num_hidden_layers: 4, num_attention_heads: 2, vocab_size: 40, sliding_window: 8, use_sliding_window: true, max_window_layers: 2 }, 'c.json').config as unknown as { layerTypes: string[] };
    expect(qwen.layerTypes).toEqual(['full_attention', 'full_attention', 'sliding_attention', 'sliding_attention']);
  });
});
