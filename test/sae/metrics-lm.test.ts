/**
 * CE-loss score, KL score and delta LM loss with an SAE spliced into the runtime, on a random
 * llama checkpoint: an exact identity SAE recovers everything (score 1, ΔCE 0, KL 0); an SAE
 * whose output is zero is zero ablation (score 0); the clean CE matches a float64 reference
 * forward computed by hand under the documented position rules; ignored inputs (BOS) are neither
 * spliced nor counted.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import { computeLmMetrics, referenceEncoder } from '../../sae/metrics-lm.js';
import type { Sae, SaeConfig } from '../../sae/sae.js';
import { referenceForward, writeRandomModel, type RandomLlama, type Weights } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';
import { identityDictionary } from './helpers.js';

isolateCache();
const SPEC: RandomLlama = { family: 'llama', layers: 2, d: 16, heads: 4, kvHeads: 2, dMlp: 24, vocab: 20, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' };
const HOOK = 'blocks.0.hook_resid_post';
const BOS = 1; // writeRandomModel's config: bos 1, eos 2
/** Varying lengths so that left padding is exercised; BOS first, as the TokenizerPolicy makes them. */
const SEQS = [[BOS, 5, 9, 12, 4, 7, 19], [BOS, 3, 8], [BOS, 11, 11, 6, 15], [BOS, 17, 4, 4, 9, 10, 13, 3, 5]];

function config(m: number): SaeConfig {
  return {
    architecture: 'relu', d_in: SPEC.d, d_sae: m, k: null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: false,
    normalize_activations: 'none', reshape_activations: 'none',
    metadata: { sae_lens_version: '6.0.0', model_name: 'random', hook_name: HOOK, hook_head_index: null, context_size: 16, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
  };
}

/** x̂ = relu(x) − relu(−x) = x exactly: W_enc = [I, −I], W_dec = [I; −I]. */
function identitySae(): Sae {
  const d = SPEC.d;
  const m = 2 * d;
  const { W_enc, W_dec } = identityDictionary(d);
  return { cfg: config(m), weights: { W_enc, W_dec, b_enc: new Float32Array(m), b_dec: new Float32Array(d), threshold: null } };
}

/** Latents fire but decode to nothing: x̂ = b_dec = 0. */
function zeroSae(): Sae {
  const s = identitySae();
  return { cfg: s.cfg, weights: { ...s.weights, W_dec: new Float32Array(s.weights.W_dec.length) } };
}

/** Next-token CE of the clean model by the float64 reference, counting inputs that are not ignored. */
function referenceCe(weights: Weights, ignore: ReadonlySet<number>): { ce: number; tokens: number } {
  let sum = 0;
  let tokens = 0;
  for (const ids of SEQS) {
    const logits = referenceForward(SPEC, weights, ids).get('logits') as Float64Array;
    const V = SPEC.vocab;
    for (let t = 0; t + 1 < ids.length; t++) {
      if (ignore.has(ids[t])) continue;
      const row = logits.subarray(t * V, (t + 1) * V);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      sum += lse - row[ids[t + 1]];
      tokens++;
    }
  }
  return { ce: sum / tokens, tokens };
}

describe('computeLmMetrics', () => {
  let model: HookedTransformer;
  let weights: Weights;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-lm-metrics-'));
    weights = writeRandomModel(dir, SPEC, 3);
    model = await HookedTransformer.load(dir);
  });
  afterAll(async () => { await model.dispose(); });

  it('an exact identity SAE recovers everything: CE-loss score 1, delta LM loss 0, KL 0', async () => {
    const r = await computeLmMetrics(model, identitySae(), SEQS, { batchSize: 3 });
    expect(r.hook).toBe(HOOK);
    expect(Math.abs(r.deltaLmLoss)).toBeLessThan(1e-5);
    expect(r.ceLossScore).toBeCloseTo(1, 4);
    expect(r.klSae).toBeLessThan(1e-6);
    expect(r.klScore).toBeCloseTo(1, 4);
    expect(r.klZeroAblation).toBeGreaterThan(1e-3); // the baseline actually moves the model
    expect(r.ceZeroAblation).not.toBeCloseTo(r.ceClean, 2);
  });

  it('an SAE that outputs zero is zero ablation: CE-loss score 0, KL score 0', async () => {
    const r = await computeLmMetrics(model, zeroSae(), SEQS, { batchSize: 2 });
    expect(r.ceWithSae).toBeCloseTo(r.ceZeroAblation, 5);
    expect(r.klSae).toBeCloseTo(r.klZeroAblation, 5);
    expect(Math.abs(r.ceLossScore)).toBeLessThan(1e-4);
    expect(Math.abs(r.klScore)).toBeLessThan(1e-4);
    expect(r.klSae).toBeGreaterThanOrEqual(0);
    expect(r.deltaLmLoss).toBeCloseTo(r.ceZeroAblation - r.ceClean, 6);
  });

  it('clean CE matches a hand computation on the float64 reference forward, BOS inputs left out', async () => {
    const r = await computeLmMetrics(model, identitySae(), SEQS, { batchSize: 4 });
    const want = referenceCe(weights, new Set([1, 2]));
    expect(r.tokens).toBe(want.tokens);
    expect(r.tokens).toBe(SEQS.reduce((a, s) => a + s.length - 2, 0)); // one per token but BOS and the last
    expect(r.klTokens).toBe(SEQS.reduce((a, s) => a + s.length - 1, 0)); // every token but BOS
    expect(r.ceClean).toBeCloseTo(want.ce, 4);
    expect(r.ignoredTokenIds).toEqual([1, 2]);
  });

  it('counts BOS inputs when nothing is ignored, and batching does not change the result', async () => {
    const none = await computeLmMetrics(model, zeroSae(), SEQS, { batchSize: 4, ignoreTokenIds: [] });
    const want = referenceCe(weights, new Set());
    expect(none.tokens).toBe(want.tokens);
    expect(none.ceClean).toBeCloseTo(want.ce, 4);
    const single = await computeLmMetrics(model, zeroSae(), SEQS, { batchSize: 1, ignoreTokenIds: [] });
    for (const k of ['ceClean', 'ceWithSae', 'ceZeroAblation', 'klSae', 'klZeroAblation'] as const) expect(single[k]).toBeCloseTo(none[k], 4);
    // With nothing ignored, 'all' and 'spliced' zero the same positions.
    const all = await computeLmMetrics(model, zeroSae(), SEQS, { batchSize: 4, ignoreTokenIds: [], zeroAblation: 'all' });
    expect(all.ceZeroAblation).toBeCloseTo(none.ceZeroAblation, 6);
  });

  it("SAELens' zero ablation (every position, BOS too) is a harsher baseline than the spliced positions", async () => {
    const spliced = await computeLmMetrics(model, zeroSae(), SEQS);
    const all = await computeLmMetrics(model, zeroSae(), SEQS, { zeroAblation: 'all' });
    expect(all.ceClean).toBeCloseTo(spliced.ceClean, 6);
    expect(all.ceWithSae).toBeCloseTo(spliced.ceWithSae, 6);
    expect(all.klZeroAblation).not.toBeCloseTo(spliced.klZeroAblation, 4);
  });

  it('a partial SAE lands between the two, and the scores follow their formulas', async () => {
    const id = identitySae();
    const half: Sae = { cfg: id.cfg, weights: { ...id.weights, W_dec: id.weights.W_dec.map((v) => v * 0.5) } };
    const r = await computeLmMetrics(model, half, SEQS, { encode: referenceEncoder(half) });
    expect(r.ceLossScore).toBeCloseTo((r.ceZeroAblation - r.ceWithSae) / (r.ceZeroAblation - r.ceClean), 10);
    expect(r.klScore).toBeCloseTo((r.klZeroAblation - r.klSae) / r.klZeroAblation, 10);
    expect(r.klSae).toBeGreaterThan(0);
    expect(r.klSae).toBeLessThan(r.klZeroAblation);
  });

  it('refuses an SAE whose width does not match the hook, and an empty eval set', async () => {
    const wide: Sae = { cfg: { ...identitySae().cfg, d_in: 8, d_sae: 16 }, weights: { W_enc: new Float32Array(128), W_dec: new Float32Array(128), b_enc: new Float32Array(16), b_dec: new Float32Array(8), threshold: null } };
    await expect(computeLmMetrics(model, wide, SEQS)).rejects.toThrow(/d_in 8/);
    await expect(computeLmMetrics(model, identitySae(), [])).rejects.toThrow(/no sequences/);
  });
});
