/**
 * CE-loss score with a transcoder spliced into the runtime in place of the MLP, on a random
 * llama checkpoint, through the same code path as any transcoder (x read at hook_name, ŷ
 * replacing hook_name_out, zero ablation of hook_name_out): a transcoder whose output is exactly
 * the clean hook_mlp_out scores 1, one whose output is zero scores 0, and an output hook
 * upstream of the input hook is refused.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import { computeLmMetrics } from '../../sae/metrics-lm.js';
import type { Sae } from '../../sae/sae.js';
import { writeRandomModel, type RandomLlama } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';
import { identityDictionary } from './helpers.js';

isolateCache();
const SPEC: RandomLlama = { family: 'llama', layers: 2, d: 16, heads: 4, kvHeads: 2, dMlp: 24, vocab: 20, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' };
const LN2 = 'blocks.0.ln2.hook_normalized';
const MLP_OUT = 'blocks.0.hook_mlp_out';
const SEQS = [[1, 5, 9, 12, 4, 7, 19], [1, 3, 8], [1, 11, 11, 6, 15], [1, 17, 4, 4, 9, 10, 13, 3, 5]];

/**
 * A transcoder from `hook` to `hookOut` (d_in = d_out = d_model). With `identity`, ŷ = relu(x) −
 * relu(−x) = x exactly (W_enc = [I, −I], W_dec = [I; −I]); otherwise W_dec = 0, so ŷ = b_dec = 0.
 */
function transcoder(hook: string, hookOut: string, identity: boolean): Sae {
  const d = SPEC.d;
  const m = 2 * d;
  const pair = identityDictionary(d);
  const W_enc = pair.W_enc;
  const W_dec = identity ? pair.W_dec : new Float32Array(m * d);
  return {
    cfg: {
      architecture: 'relu', d_in: d, d_sae: m, d_out: d, k: null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: false,
      normalize_activations: 'none', reshape_activations: 'none',
      metadata: { sae_lens_version: '6.0.0', model_name: 'random', hook_name: hook, hook_name_out: hookOut, hook_head_index: null, context_size: 16, prepend_bos: true, model_from_pretrained_kwargs: {} },
    },
    weights: { W_enc, W_dec, b_enc: new Float32Array(m), b_dec: new Float32Array(d), threshold: null },
  };
}

describe('computeLmMetrics with a transcoder', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-tc-lm-'));
    writeRandomModel(dir, SPEC, 5);
    model = await HookedTransformer.load(dir);
  });
  afterAll(async () => { await model.dispose(); });

  it('ŷ = the clean hook_mlp_out gives CE-loss score 1; the zero ablation it is scored against is of hook_mlp_out', async () => {
    // Input hook = output hook = mlp_out, identity weights: ŷ is the clean MLP output exactly.
    const r = await computeLmMetrics(model, transcoder(MLP_OUT, MLP_OUT, true), SEQS, { batchSize: 3 });
    expect(r.hook).toBe(MLP_OUT);
    expect(r.hookOut).toBe(MLP_OUT);
    expect(Math.abs(r.ceLossScore - 1)).toBeLessThan(1e-4);
    expect(Math.abs(r.deltaLmLoss)).toBeLessThan(1e-5);
    expect(r.ceZeroAblation - r.ceClean).toBeGreaterThan(1e-3); // zeroing the MLP output moves the model
  });

  it('a transcoder from ln2 whose output is zero scores 0 (it is the zero ablation of hook_mlp_out)', async () => {
    const r = await computeLmMetrics(model, transcoder(LN2, MLP_OUT, false), SEQS, { batchSize: 2 });
    expect(r.hook).toBe(LN2);
    expect(r.hookOut).toBe(MLP_OUT);
    expect(Math.abs(r.ceLossScore)).toBeLessThan(1e-4);
    expect(Math.abs(r.klScore)).toBeLessThan(1e-4);
    // The same baseline as the perfect transcoder's: both zero hook_mlp_out at the spliced positions.
    const perfect = await computeLmMetrics(model, transcoder(MLP_OUT, MLP_OUT, true), SEQS, { batchSize: 2 });
    expect(r.ceZeroAblation).toBeCloseTo(perfect.ceZeroAblation, 6);
    expect(r.ceClean).toBeCloseTo(perfect.ceClean, 6);
  });

  it('an identity map from ln2 to mlp_out (not the MLP) lands strictly between, by the formula', async () => {
    const r = await computeLmMetrics(model, transcoder(LN2, MLP_OUT, true), SEQS);
    expect(r.ceLossScore).toBeCloseTo((r.ceZeroAblation - r.ceWithSae) / (r.ceZeroAblation - r.ceClean), 10);
    expect(r.klSae).toBeGreaterThan(0);
  });

  it('refuses an output hook upstream of the input hook, and a transcoder without hook_name_out', async () => {
    await expect(computeLmMetrics(model, transcoder(MLP_OUT, LN2, true), SEQS)).rejects.toThrow(/output hook blocks\.0\.ln2\.hook_normalized comes before its input hook blocks\.0\.hook_mlp_out/);
    const t = transcoder(LN2, MLP_OUT, true);
    const { hook_name_out: _, ...metadata } = t.cfg.metadata;
    await expect(computeLmMetrics(model, { ...t, cfg: { ...t.cfg, metadata } }, SEQS)).rejects.toThrow(/without metadata\.hook_name_out/);
  });
});
