/**
 * The runtime against a float64 reference written from Hugging Face transformers' modeling files
 * (test/helpers/checkpoints/hf-reference.ts, itself checked against the shared fixtures in
 * reference-fixtures.test.ts) on random checkpoints whose shapes the fixtures do not have:
 * GPT-NeoX with rotary_pct 0.5 and 1, sequential and parallel residual; Gemma with MQA and
 * head_dim ≠ d/heads; Gemma 2 with windows of 3–4 keys on even layers or on the layers
 * layer_types names, small soft-caps, query_pre_attn_scalar ≠ head_dim; Gemma 3 with
 * sliding_window_pattern or layer_types, two RoPE bases, linear rope_scaling on global layers,
 * the multimodal wrapper; Qwen3 with GQA ×1/×2/×4, head_dim ≠ d/heads, tied and untied.
 * Every hook the reference computes must agree at atol = rtol = 1e-4 (masked scores: −∞ exactly).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import type { RunResult } from '../../src/runtime/model.js';
import { referenceForward, writeRandomModel } from '../helpers/checkpoints.js';
import type { RandomFamilyModel } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';

isolateCache();

const SLIDING = 'sliding_attention' as const;
const FULL = 'full_attention' as const;

const CASES: Record<string, RandomFamilyModel> = {
  'gpt_neox: 3 layers, parallel residual, rotary_pct 0.5 (4 of 8 dims)': { family: 'gpt_neox', layers: 3, d: 32, heads: 4, dMlp: 64, vocab: 61, rotaryPct: 0.5, rotaryBase: 1e4, parallel: true },
  'gpt_neox: sequential residual (use_parallel_residual false), dh 12, rotary_pct 0.5': { family: 'gpt_neox', layers: 1, d: 24, heads: 2, dMlp: 40, vocab: 50, rotaryPct: 0.5, rotaryBase: 1e4, parallel: false },
  'gpt_neox: 6 heads of 8, full rotary, base 5e5': { family: 'gpt_neox', layers: 2, d: 48, heads: 6, dMlp: 96, vocab: 64, rotaryPct: 1, rotaryBase: 5e5, parallel: true },
  'gemma: MQA, head_dim 16 ≠ d/heads 8': { family: 'gemma', modelType: 'gemma', layers: 2, d: 32, heads: 4, kvHeads: 1, headDim: 16, dMlp: 64, vocab: 64, theta: 1e4 },
  'gemma: 3 layers, GQA ×2, head_dim = d/heads': { family: 'gemma', modelType: 'gemma', layers: 3, d: 24, heads: 4, kvHeads: 2, headDim: 6, dMlp: 48, vocab: 50, theta: 1e4 },
  'gemma2: window 4 on even layers, soft-caps 5 and 3, query_pre_attn_scalar 24 ≠ head_dim 16': { family: 'gemma', modelType: 'gemma2', layers: 3, d: 32, heads: 4, kvHeads: 2, headDim: 16, dMlp: 64, vocab: 64, theta: 1e4, window: 4, queryPreAttnScalar: 24, attnSoftcap: 5, finalSoftcap: 3 },
  'gemma2: layer_types [full, sliding], window 3, GQA ×4': { family: 'gemma', modelType: 'gemma2', layers: 2, d: 24, heads: 4, kvHeads: 1, headDim: 8, dMlp: 40, vocab: 48, theta: 1e4, window: 3, layerTypes: [FULL, SLIDING], queryPreAttnScalar: 8, attnSoftcap: 50, finalSoftcap: 30 },
  'gemma3_text: sliding_window_pattern 3, window 4, RoPE 1e4 local / 1e6 global, query_pre_attn_scalar 12': { family: 'gemma', modelType: 'gemma3_text', layers: 3, d: 32, heads: 4, kvHeads: 2, headDim: 16, dMlp: 64, vocab: 64, theta: 1e6, localTheta: 1e4, window: 4, pattern: 3, queryPreAttnScalar: 12 },
  'gemma3_text: layer_types [sliding, full], window 5, MQA, head_dim 24, final soft-cap 8': { family: 'gemma', modelType: 'gemma3_text', layers: 2, d: 24, heads: 2, kvHeads: 1, headDim: 24, dMlp: 48, vocab: 50, theta: 5e5, localTheta: 1e3, window: 5, layerTypes: [SLIDING, FULL], queryPreAttnScalar: 20, finalSoftcap: 8 },
  'gemma3_text: linear rope_scaling ×4 on the global layer only': { family: 'gemma', modelType: 'gemma3_text', layers: 2, d: 16, heads: 2, kvHeads: 2, headDim: 8, dMlp: 32, vocab: 40, theta: 1e4, localTheta: 1e4, window: 3, pattern: 2, queryPreAttnScalar: 8, ropeLinearFactor: 4 },
  'gemma3: multimodal wrapper (text_config, language_model.model.* weights)': { family: 'gemma', modelType: 'gemma3', layers: 2, d: 32, heads: 4, kvHeads: 2, headDim: 8, dMlp: 48, vocab: 64, theta: 1e6, localTheta: 1e4, window: 3, pattern: 2, queryPreAttnScalar: 8 },
  'qwen3: tied, 3 layers, GQA ×2, head_dim 16 ≠ d/heads 8': { family: 'qwen3', layers: 3, d: 32, heads: 4, kvHeads: 2, headDim: 16, dMlp: 64, vocab: 64, theta: 1e6, tied: true },
  'qwen3: untied, GQA ×4, head_dim 12': { family: 'qwen3', layers: 2, d: 24, heads: 4, kvHeads: 1, headDim: 12, dMlp: 40, vocab: 50, theta: 1e4, tied: false },
  'qwen3: untied, no GQA, 1 layer': { family: 'qwen3', layers: 1, d: 16, heads: 2, kvHeads: 2, headDim: 8, dMlp: 32, vocab: 40, theta: 1e4, tied: false },
};

/** Hooks outside atol + rtol·|ref| (1e-4 each), with their largest difference and shape. */
function failures(expected: ReadonlyMap<string, Float64Array>, result: RunResult): string[] {
  const bad: string[] = [];
  for (const [name, ref] of expected) {
    const got = name === 'logits' ? result.logits : result.hooks.get(name);
    if (!got) { bad.push(`${name}: not returned`); continue; }
    if (got.data.length !== ref.length) { bad.push(`${name}: ${got.data.length} values [${got.shape}], expected ${ref.length}`); continue; }
    let maxAbs = 0;
    let worst = 0;
    let infMismatch = 0;
    ref.forEach((r, i) => {
      const g = got.data[i];
      if (!Number.isFinite(r) || !Number.isFinite(g)) { if (r !== g) infMismatch++; return; }
      maxAbs = Math.max(maxAbs, Math.abs(g - r));
      worst = Math.max(worst, Math.abs(g - r) / (1e-4 + 1e-4 * Math.abs(r)));
    });
    if (worst > 1 || infMismatch > 0) bad.push(`${name} [${got.shape}]: max |diff| ${maxAbs.toExponential(2)} (${worst.toFixed(1)}× the tolerance)${infMismatch ? `, ${infMismatch} entries masked on one side only` : ''}`);
  }
  return bad;
}

describe('new families on random checkpoints against the float64 reference', () => {
  for (const [label, m] of Object.entries(CASES)) {
    it(label, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'interp-family-'));
      const weights = writeRandomModel(dir, m, 17);
      const ids = Array.from({ length: 13 }, (_, i) => (i * 29 + 7) % m.vocab);
      const expected = referenceForward(m, weights, ids);
      const model = await HookedTransformer.load(dir);
      try {
        const result = await model.run([ids], { fetch: [...expected.keys()].filter((n) => n !== 'logits') });
        expect(failures(expected, result)).toEqual([]);
      } finally {
        await model.dispose();
      }
    });
  }
});
