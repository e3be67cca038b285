/**
 * Logit effects W_U (g ⊙ W_dec[l]) against a direct computation from the checkpoint's weights,
 * for an untied llama (lm_head), a tied llama (embed_tokens) and gpt2 (ln_f, tied wte); a
 * transcoder's rows when its d_out is d_model; none for an SAE that is not on the residual stream.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logitEffects, openUnembedding } from '../../sae/dashboard-logits.js';
import type { Sae } from '../../sae/sae.js';
import { openSafetensors } from '../../src/model/index.js';
import { writeRandomModel, type RandomModel } from '../helpers/checkpoints.js';
import { fixture } from '../helpers/fixtures.js';

const D = 16;
const V = 12;

function sae(d: number): Sae {
  const m = 5;
  return {
    cfg: {
      architecture: 'relu', d_in: d, d_sae: m, k: null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true, normalize_activations: 'none', reshape_activations: 'none',
      metadata: { sae_lens_version: '6.0.0', model_name: 'random', hook_name: 'blocks.0.hook_resid_post', hook_head_index: null, context_size: 16, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
    },
    weights: { W_enc: new Float32Array(d * m), W_dec: Float32Array.from({ length: m * d }, (_, i) => Math.sin(i * 1.7)), b_enc: new Float32Array(m), b_dec: new Float32Array(d), threshold: null },
  };
}

const CASES: readonly [string, RandomModel, string, string][] = [
  ['llama, untied', { family: 'llama', layers: 1, d: D, heads: 2, kvHeads: 1, dMlp: 20, vocab: V, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' }, 'model.norm.weight', 'lm_head.weight'],
  ['llama, tied', { family: 'llama', layers: 1, d: D, heads: 2, kvHeads: 1, dMlp: 20, vocab: V, theta: 1e4, tied: true, qkvBias: false, modelType: 'llama' }, 'model.norm.weight', 'model.embed_tokens.weight'],
  ['gpt2, tied', { family: 'gpt2', layers: 1, d: D, heads: 2, vocab: V, nPos: 32, untiedHead: false }, 'ln_f.weight', 'wte.weight'],
];

describe('logitEffects', () => {
  for (const [name, spec, norm, head] of CASES) {
    it(`equals W_U (g ⊙ W_dec[l]) computed from the weights (${name})`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'interp-logits-'));
      const weights = writeRandomModel(dir, spec, 5);
      const model = await openUnembedding(dir);
      const s = sae(D);
      const effects = logitEffects(model, s, [0, 3], 4);
      expect(effects).not.toBeNull();
      const g = weights.get(norm)?.data as Float64Array;
      const W_U = weights.get(head)?.data as Float64Array;
      for (const l of [0, 3]) {
        const want = Array.from({ length: V }, (_, v) => {
          let acc = 0;
          for (let j = 0; j < D; j++) acc += W_U[v * D + j] * g[j] * s.weights.W_dec[l * D + j];
          return acc;
        });
        const sorted = want.map((value, v) => ({ v, value })).sort((a, b) => b.value - a.value);
        const e = effects?.get(l);
        expect(e?.positive.map((t) => t.tokenId)).toEqual(sorted.slice(0, 4).map((t) => t.v));
        expect(e?.negative.map((t) => t.tokenId)).toEqual(sorted.slice(-4).reverse().map((t) => t.v));
        e?.positive.forEach((t) => expect(t.value).toBeCloseTo(want[t.tokenId], 4));
        expect(e?.positive[0].token).toBe(`#${e?.positive[0].tokenId}`); // no tokenizer.json here
      }
    });
  }

  const gemma = fixture('gemma2-tiny');
  it.skipIf(gemma === null)('multiplies by (1 + g) for Gemma\'s RMSNorm and reads the tied embedding (gemma2-tiny)', async () => {
    const model = await openUnembedding(gemma as string);
    const weights = openSafetensors(`${gemma}/model.safetensors`);
    const g = weights.readF32('model.norm.weight');
    const W_U = weights.readF32('model.embed_tokens.weight');
    const d = 64;
    const s = sae(d);
    const e = logitEffects(model, s, [2], 3)?.get(2);
    const want = Array.from({ length: 512 }, (_, v) => {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += W_U[v * d + j] * (1 + g[j]) * s.weights.W_dec[2 * d + j];
      return acc;
    });
    const top = want.map((value, v) => ({ v, value })).sort((a, b) => b.value - a.value).slice(0, 3);
    expect(e?.positive.map((t) => t.tokenId)).toEqual(top.map((t) => t.v));
    e?.positive.forEach((t) => expect(t.value).toBeCloseTo(want[t.tokenId], 4));
  });

  it('reads a transcoder\'s W_dec rows [m, d_out]: effects when d_out = d_model whatever d_in, none otherwise', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-logits-'));
    const weights = writeRandomModel(dir, CASES[0][1], 5);
    const model = await openUnembedding(dir);
    const m = 5;
    const dIn = 20; // e.g. mlp.hook_post → hook_mlp_out
    const base = sae(D);
    const tc: Sae = {
      cfg: { ...base.cfg, d_in: dIn, d_out: D, apply_b_dec_to_input: false, metadata: { ...base.cfg.metadata, hook_name: 'blocks.0.mlp.hook_post', hook_name_out: 'blocks.0.hook_mlp_out' } },
      weights: { ...base.weights, W_enc: new Float32Array(dIn * m) },
    };
    const e = logitEffects(model, tc, [3], 4)?.get(3);
    const g = weights.get('model.norm.weight')?.data as Float64Array;
    const W_U = weights.get('lm_head.weight')?.data as Float64Array;
    const want = Array.from({ length: V }, (_, v) => {
      let acc = 0;
      for (let j = 0; j < D; j++) acc += W_U[v * D + j] * g[j] * tc.weights.W_dec[3 * D + j];
      return acc;
    });
    expect(e?.positive.map((t) => t.tokenId)).toEqual(want.map((value, v) => ({ v, value })).sort((a, b) => b.value - a.value).slice(0, 4).map((t) => t.v));
    const narrow: Sae = { cfg: { ...tc.cfg, d_in: D, d_out: dIn }, weights: { ...tc.weights, W_enc: new Float32Array(D * m), W_dec: new Float32Array(m * dIn), b_dec: new Float32Array(dIn) } };
    expect(logitEffects(model, narrow, [0])).toBeNull();
  });

  it('gives nothing for an SAE whose width is not d_model', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-logits-'));
    writeRandomModel(dir, CASES[0][1], 5);
    expect(logitEffects(await openUnembedding(dir), sae(D + 4), [0])).toBeNull();
  });
});
