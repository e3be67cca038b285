/**
 * A Gemma Scope SAE (params.npz, JumpReLU, apply_b_dec_to_input false) imported with
 * `interp sae import` splices into a Gemma-2-shaped checkpoint at its hook and the CE-loss score
 * runs: an exact identity JumpReLU SAE recovers the clean model (score 1, ΔCE 0, KL 0), a random
 * one moves it. The checkpoint is written here (random weights, Gemma 2's layout: (1 + w)
 * RMSNorms, pre+post norms, soft-caps, a sliding window shorter than the sequences), so no
 * download and no ../shared is needed.
 */
import * as fs from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/model/index.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { loadSae } from '../../sae/io.js';
import { computeLmMetrics } from '../../sae/metrics-lm.js';
import { rng } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { isolateCache } from '../helpers/fixtures.js';
import { npyBytes, npyHeader, zip } from '../helpers/npz.js';
import { identityDictionary } from './helpers.js';

isolateCache();
const D = 32;
const HOOK = 'blocks.1.hook_resid_post';

/** A Gemma-2 checkpoint: 3 layers, 4 heads over 2 KV heads, head_dim 16 (≠ d/heads = 8), window 4. */
function writeGemma2(dir: string): void {
  const rand = rng(41);
  const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  const add = (name: string, shape: number[], std: number) => {
    tensors[name] = { dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => std * normal()) };
  };
  const V = 48;
  const m = 64;
  add('model.embed_tokens.weight', [V, D], 0.3);
  for (let i = 0; i < 3; i++) {
    const p = `model.layers.${i}`;
    add(`${p}.input_layernorm.weight`, [D], 0.1);
    add(`${p}.self_attn.q_proj.weight`, [4 * 16, D], 0.25);
    add(`${p}.self_attn.k_proj.weight`, [2 * 16, D], 0.25);
    add(`${p}.self_attn.v_proj.weight`, [2 * 16, D], 0.1);
    add(`${p}.self_attn.o_proj.weight`, [D, 4 * 16], 0.1);
    add(`${p}.post_attention_layernorm.weight`, [D], 0.1);
    add(`${p}.pre_feedforward_layernorm.weight`, [D], 0.1);
    add(`${p}.mlp.gate_proj.weight`, [m, D], 0.1);
    add(`${p}.mlp.up_proj.weight`, [m, D], 0.1);
    add(`${p}.mlp.down_proj.weight`, [D, m], 0.1);
    add(`${p}.post_feedforward_layernorm.weight`, [D], 0.1);
  }
  add('model.norm.weight', [D], 0.1);
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    model_type: 'gemma2', hidden_size: D, intermediate_size: m, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16,
    vocab_size: V, max_position_embeddings: 64, rms_norm_eps: 1e-6, rope_theta: 10000, hidden_activation: 'gelu_pytorch_tanh',
    query_pre_attn_scalar: 16, sliding_window: 4, attn_logit_softcapping: 50, final_logit_softcapping: 30, tie_word_embeddings: true, bos_token_id: 2, eos_token_id: 1, pad_token_id: 0,
  }));
}

/** Gemma Scope's params.npz: W_enc [d, m], W_dec [m, d], b_enc, b_dec, threshold (float32). */
function writeGemmaScope(dir: string, w: { W_enc: Float32Array; W_dec: Float32Array; b_enc: Float32Array; b_dec: Float32Array; threshold: Float32Array }, m: number): void {
  const npy = (data: Float32Array, shape: number[]) => npyBytes(npyHeader('<f4', shape), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'params.npz'), zip([
    { name: 'W_enc.npy', data: npy(w.W_enc, [D, m]) }, { name: 'W_dec.npy', data: npy(w.W_dec, [m, D]) },
    { name: 'b_enc.npy', data: npy(w.b_enc, [m]) }, { name: 'b_dec.npy', data: npy(w.b_dec, [D]) }, { name: 'threshold.npy', data: npy(w.threshold, [m]) },
  ], true));
}

/** x̂ = relu(x) − relu(−x) = x: W_enc = [I, −I], W_dec = [I; −I], threshold 0. */
function identity(): Parameters<typeof writeGemmaScope>[1] {
  const m = 2 * D;
  const { W_enc, W_dec } = identityDictionary(D);
  return { W_enc, W_dec, b_enc: new Float32Array(m), b_dec: new Float32Array(D), threshold: new Float32Array(m) };
}

function random(m: number): Parameters<typeof writeGemmaScope>[1] {
  const rand = rng(7);
  const u = (s: number) => (rand() * 2 - 1) * s;
  return {
    W_enc: Float32Array.from({ length: D * m }, () => u(0.5)), W_dec: Float32Array.from({ length: m * D }, () => u(0.3)),
    b_enc: Float32Array.from({ length: m }, () => u(0.1)), b_dec: Float32Array.from({ length: D }, () => u(0.1)), threshold: Float32Array.from({ length: m }, () => rand() * 0.5),
  };
}

describe('Gemma Scope SAE on a Gemma-2-shaped model', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'interp-gemma-scope-'));
  const modelDir = path.join(root, 'gemma2');
  let model: HookedTransformer;
  const SEQS = [[2, 5, 9, 12, 4, 7, 19, 30, 41, 8], [2, 3, 8, 33], [2, 11, 11, 6, 15, 20, 21, 22]];
  beforeAll(async () => {
    writeGemma2(modelDir);
    model = await HookedTransformer.load(modelDir);
  });
  afterAll(async () => { await model.dispose(); });

  it('interp sae import reads params.npz; spliced at its hook, an identity SAE gives CE-loss score 1, a random one does not', async () => {
    for (const [name, w, m] of [['identity', identity(), 2 * D], ['random', random(96), 96]] as const) {
      const src = path.join(root, `${name}-src`);
      writeGemmaScope(src, w, m);
      const out = path.join(root, `${name}-sae`);
      const r = await runCli(['sae', 'import', src, '--out', out, '--hook', HOOK, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const { sae, layout } = loadSae(out);
      expect(layout).toBe('saelens');
      expect(sae.cfg.architecture).toBe('jumprelu');
      expect(sae.cfg.apply_b_dec_to_input).toBe(false);
      expect(sae.cfg.metadata.hook_name).toBe(HOOK);
      const metrics = await computeLmMetrics(model, sae, SEQS, { batchSize: 2 });
      expect(metrics.hook).toBe(HOOK);
      expect(Number.isFinite(metrics.ceLossScore)).toBe(true);
      expect(metrics.klZeroAblation).toBeGreaterThan(1e-3); // ablating resid_post moves the model (a random model's CE may even improve)
      if (name === 'identity') {
        expect(metrics.ceLossScore).toBeCloseTo(1, 4);
        expect(Math.abs(metrics.deltaLmLoss)).toBeLessThan(1e-5);
        expect(metrics.klSae).toBeLessThan(1e-6);
      } else {
        expect(Math.abs(metrics.ceLossScore - 1)).toBeGreaterThan(1e-3);
        expect(metrics.klSae).toBeGreaterThan(1e-4);
      }
    }
  });
});
