/**
 * A Gemma Scope 2 residual SAE and a Llama Scope SAE, written as their releases lay them out and
 * imported with `interp sae import`, splice into a Gemma-3-shaped and a Llama-3-shaped checkpoint
 * at their hooks and give a CE-loss score: an exact identity dictionary (x̂ = relu(x) − relu(−x),
 * through each release's own scaling) recovers the clean model (score 1), a random one does not.
 * Checkpoints are random and written here, so nothing is downloaded and ../shared is not needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import { loadSae } from '../../sae/io.js';
import { computeLmMetrics } from '../../sae/metrics-lm.js';
import { rng, writeRandomModel, type AnyRandomModel } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { isolateCache } from '../helpers/fixtures.js';
import { writeJson, writeSafetensorsFile } from '../helpers/release-files.js';
import { identityDictionary, tempDir } from './helpers.js';

isolateCache();
const D = 32;
const SEQS = [[2, 5, 9, 12, 4, 7, 19, 30, 41, 8], [2, 3, 8, 33], [2, 11, 11, 6, 15, 20, 21, 22]];

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

const randomArray = (seed: number, n: number, s: number) => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * s);
};

/** Gemma Scope 2: w_enc [d, m], w_dec [m, d], b_enc, b_dec, threshold + config.json naming the HF hook point. */
function writeGemmaScope2(dir: string, identity: boolean): void {
  const m = identity ? 2 * D : 96;
  const { W_enc: enc, W_dec: dec } = identity ? identityDictionary(D) : { W_enc: randomArray(3, D * m, 0.5), W_dec: randomArray(4, m * D, 0.3) };
  writeSafetensorsFile(path.join(dir, 'params.safetensors'), {
    w_enc: { dtype: 'F32', shape: [D, m], data: enc }, w_dec: { dtype: 'F32', shape: [m, D], data: dec },
    b_enc: { dtype: 'F32', shape: [m], data: identity ? new Float32Array(m) : randomArray(5, m, 0.1) },
    b_dec: { dtype: 'F32', shape: [D], data: identity ? new Float32Array(D) : randomArray(6, D, 0.1) },
    threshold: { dtype: 'F32', shape: [m], data: identity ? new Float32Array(m) : randomArray(7, m, 0.2).map(Math.abs) },
  });
  writeJson(path.join(dir, 'config.json'), { hf_hook_point_in: 'model.layers.1.output', width: m, l0: 10, model_name: 'gemma-v3-1b-pt', architecture: 'jump_relu' });
}

/** Llama Scope: encoder.weight [m, d], decoder.weight [d, m] (bf16) + hyperparams.json with the dataset norm. */
function writeLlamaScope(dir: string, identity: boolean): void {
  const m = identity ? 2 * D : 96;
  const pair = identity ? identityDictionary(D) : { W_enc: randomArray(8, D * m, 0.5), W_dec: randomArray(9, m * D, 0.3) };
  writeSafetensorsFile(path.join(dir, 'checkpoints', 'final.safetensors'), {
    'encoder.weight': { dtype: 'BF16', shape: [m, D], data: transpose(pair.W_enc, D, m) },
    'decoder.weight': { dtype: 'BF16', shape: [D, m], data: transpose(pair.W_dec, m, D) },
    'encoder.bias': { dtype: 'BF16', shape: [m], data: identity ? new Float32Array(m) : randomArray(10, m, 0.1) },
    'decoder.bias': { dtype: 'BF16', shape: [D], data: identity ? new Float32Array(D) : randomArray(11, D, 0.1) },
  });
  writeJson(path.join(dir, 'hyperparams.json'), {
    d_model: D, d_sae: m, hook_point_in: 'blocks.1.hook_resid_post', hook_point_out: 'blocks.1.hook_resid_post',
    jump_relu_threshold: identity ? 0 : 0.05, dataset_average_activation_norm: { in: 3.7, out: 3.7 },
  });
}

const CASES: readonly { name: string; model: AnyRandomModel; write: (dir: string, identity: boolean) => void; folder: string }[] = [
  {
    name: 'Gemma Scope 2 resid_post on a Gemma-3-shaped checkpoint',
    model: { family: 'gemma', modelType: 'gemma3_text', layers: 3, d: D, heads: 4, kvHeads: 2, headDim: 16, dMlp: 64, vocab: 48, theta: 1e6, localTheta: 1e4, window: 4, pattern: 3, queryPreAttnScalar: 16 },
    write: writeGemmaScope2,
    folder: path.join('resid_post', 'layer_1_width_16k_l0_small'),
  },
  {
    name: 'Llama Scope L1R on a Llama-3-shaped checkpoint',
    model: { family: 'llama', layers: 3, d: D, heads: 4, kvHeads: 2, dMlp: 64, vocab: 48, theta: 5e5, tied: false, qkvBias: false, modelType: 'llama' },
    write: writeLlamaScope,
    folder: 'Llama3_1-8B-Base-L1R-8x',
  },
];

for (const c of CASES) {
  describe(c.name, () => {
    const root = tempDir('release-splice');
    let model: HookedTransformer;
    beforeAll(async () => {
      writeRandomModel(path.join(root, 'model'), c.model, 17);
      model = await HookedTransformer.load(path.join(root, 'model'));
    });
    afterAll(async () => { await model.dispose(); });

    it('imports at blocks.1.hook_resid_post; the identity dictionary scores 1, a random one does not', async () => {
      for (const identity of [true, false]) {
        const src = path.join(root, identity ? 'identity' : 'random', c.folder);
        fs.mkdirSync(src, { recursive: true });
        c.write(src, identity);
        const out = path.join(root, `${identity ? 'identity' : 'random'}-sae`);
        const r = await runCli(['sae', 'import', src, '--out', out, '--json']);
        expect(r.code, r.stderr).toBe(0);
        const { sae } = loadSae(out);
        expect(sae.cfg.metadata.hook_name).toBe('blocks.1.hook_resid_post');
        const metrics = await computeLmMetrics(model, sae, SEQS, { batchSize: 2 });
        expect(metrics.klZeroAblation).toBeGreaterThan(1e-3);
        if (identity) {
          expect(metrics.ceLossScore).toBeCloseTo(1, 3);
          expect(metrics.klSae).toBeLessThan(1e-5);
        } else {
          expect(Number.isFinite(metrics.ceLossScore)).toBe(true);
          expect(metrics.klSae).toBeGreaterThan(1e-4);
        }
      }
    });
  });
}
