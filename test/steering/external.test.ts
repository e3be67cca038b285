/**
 * Steering with the sibling techniques' artifacts: an SAE decoder row as a vector source, the
 * SAE-latent clamp ("decode the difference": h + (value − f_i)·W_dec[i], so the error term and
 * the other latents are untouched), the clamp run through the runtime as a function hook, and a
 * probe as a direction and as a per-token scorer (behaviour and monitor mode).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeReference, saveSae } from '../../sae/index.js';
import type { Sae, SaeArchitecture } from '../../sae/index.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { PROBE_FORMAT, PROBE_FORMAT_VERSION, saveProbe } from '../../probes/index.js';
import type { ProbeJson } from '../../probes/index.js';
import { chooseProbe, openSae, probeScorer, probeVector } from '../../steering/external.js';
import { clampFunction, compileIntervention } from '../../steering/interventions.js';
import { decoderRow, randomVector } from '../../steering/sources.js';
import { writeRandomModel } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';

function randomSae(d: number, m: number, architecture: SaeArchitecture, hook: string): Sae {
  const w = (n: number, seed: number) => randomVector(n, Math.sqrt(n) * 0.3, seed);
  return {
    cfg: {
      architecture, d_in: d, d_sae: m, k: architecture === 'topk' ? 3 : null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true,
      normalize_activations: 'none', reshape_activations: 'none',
      metadata: { sae_lens_version: '6.12.0', model_name: 'random', hook_name: hook, hook_head_index: null, context_size: 16, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
    },
    weights: { W_enc: w(d * m, 1), W_dec: w(m * d, 2), b_enc: w(m, 3), b_dec: w(d, 4), threshold: architecture === 'jumprelu' ? new Float32Array(m).fill(0.05) : null },
  };
}

describe('SAE sources and clamps', () => {
  for (const arch of ['relu', 'jumprelu', 'topk'] as const) {
    it(`clamps a ${arch} latent by adding (value − f_i)·W_dec[i] at selected positions only`, () => {
      const sae = randomSae(8, 12, arch, 'blocks.0.hook_resid_post');
      const n = 3;
      const x = randomVector(n * 8, 4, 9);
      const f = encodeReference(sae, x, n);
      const h = { data: Float32Array.from(x), shape: [1, n, 8] };
      const step = { batch: 1, positions: n, keys: n, positionIds: BigInt64Array.from([0n, 1n, 2n]), real: Uint8Array.from([1, 1, 1]) };
      clampFunction(sae, 5, 2.5, (_r, pos) => pos >= 1)(h, step);
      const row = decoderRow(sae.weights.W_dec, 12, 8, 5);
      for (let t = 0; t < n; t++) {
        const delta = t >= 1 ? 2.5 - f[t * 12 + 5] : 0;
        for (let j = 0; j < 8; j++) expect(h.data[t * 8 + j]).toBeCloseTo(x[t * 8 + j] + delta * row[j], 5);
      }
    });
  }

  it('loads an SAE folder as a vector source (its hook and decoder rows) and clamps through the runtime', async () => {
    isolateCache();
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-steer-sae-'));
    const modelDir = path.join(dir, 'model');
    writeRandomModel(modelDir, { family: 'llama', layers: 2, d: 16, heads: 2, kvHeads: 1, dMlp: 24, vocab: 40, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' }, 4);
    const sae = randomSae(16, 32, 'relu', 'blocks.0.hook_resid_post');
    saveSae(path.join(dir, 'sae'), sae);
    const opened = openSae(path.join(dir, 'sae'));
    expect(opened.hook).toBe('blocks.0.hook_resid_post');
    expect(Array.from(decoderRow(opened.sae.weights.W_dec, 32, 16, 7))).toEqual(Array.from(sae.weights.W_dec.slice(7 * 16, 8 * 16)));
    const model = await HookedTransformer.load(modelDir);
    const seqs = [[1, 5, 9, 12], [1, 7]];
    const plain = await model.run(seqs);
    const clamp = (value: number) => compileIntervention({ kind: 'clamp', hook: opened.hook, sae: opened.sae, latent: 7, value, positions: { kind: 'all' } }, seqs.map((s) => s.length));
    const clamped = await model.run(seqs, { interventions: clamp(50) });
    let moved = 0;
    for (let k = 0; k < plain.logits!.data.length; k++) moved = Math.max(moved, Math.abs(plain.logits!.data[k] - clamped.logits!.data[k]));
    expect(moved).toBeGreaterThan(1e-3);
    await model.dispose();
  });
});

describe('probe sources, behaviour and monitor', () => {
  it('takes a probe direction (mean folded in), scores tokens with applyProbe, and names the class of one-vs-rest probes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-steer-probe-'));
    const d = 8;
    const weight = randomVector(d, 2, 5);
    const mean = randomVector(d, 1, 6);
    const json: ProbeJson = {
      format: PROBE_FORMAT, format_version: PROBE_FORMAT_VERSION, hook: 'blocks.1.hook_resid_post', d, kind: 'logistic',
      label: { field: 'label', classes: ['sad', 'happy'], positive: 'happy' }, output: 'binary', preprocess: 'center', input: 'x − mean',
      training: {}, metrics: { train_acc: 1, test_acc: null, auc: null, baseline_acc: null, control_acc: null, selectivity: null, majority_acc: null },
      definitions: { baseline: '', control: '', auc: '' }, capture: { dir: '', manifest_sha256: '', model: { id: 'm', hash: 'h' }, rows: 0 }, versions: {}, command: [],
    };
    saveProbe(dir, { json, weight, bias: Float32Array.from([0.5]), mean, k: 1, d });
    const choice = chooseProbe(dir);
    expect(choice.label).toBe('happy');
    expect(Array.from(probeVector(choice))).toEqual(Array.from(weight)); // centring moves the bias, not the direction
    const x = randomVector(2 * d, 3, 7);
    const scores = await probeScorer(choice).score(x, 2);
    for (let i = 0; i < 2; i++) {
      let z = 0.5;
      for (let j = 0; j < d; j++) z += weight[j] * (x[i * d + j] - mean[j]);
      expect(scores[i]).toBeCloseTo(1 / (1 + Math.exp(-z)), 4);
    }
    saveProbe(path.join(dir, 'ovr'), { json: { ...json, output: 'one-vs-rest', preprocess: 'none', label: { field: 'label', classes: ['a', 'b', 'c'], positive: null } }, weight: randomVector(3 * d, 2, 8), bias: new Float32Array(3), k: 3, d });
    expect(() => chooseProbe(path.join(dir, 'ovr'))).toThrow(/name the class/);
    expect(chooseProbe(`${path.join(dir, 'ovr')}:b`).row).toBe(1);
  });
});
