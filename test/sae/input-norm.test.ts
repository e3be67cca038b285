/**
 * `interp sae import --fold-input-norm MODEL`: a transcoder trained on the MLP's input *after* the
 * pre-MLP norm's weight (Gemma Scope: HF's pre_feedforward_layernorm output, x̂ ⊙ (1 + w)) is
 * rewritten to read interp's ln2.hook_normalized (x̂, before the weight) exactly. Checked against
 * the transcoder's own semantics applied to x̂ ⊙ g + b, with g and b read from the checkpoint the
 * test wrote: Gemma 2 ((1 + w), no bias) and GPT-2 (LayerNorm weight and bias, with a skip term).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSae } from '../../sae/io.js';
import { decodeReference, encodeReference } from '../../sae/sae.js';
import { writeRandomModel, type AnyRandomModel } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { writeJson, writeSafetensorsFile } from '../helpers/release-files.js';
import { expectClose, rng } from '../engine/helpers.js';
import { tempDir } from './helpers.js';

const D = 16;
const M = 24;
const N = 6;
const random = (next: () => number, n: number, s: number) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * s);

/** The transcoder's semantics on its real input u = x̂ ⊙ g + b: relu(pre)·1[pre > θ] decoded, plus u W_skipᵀ. */
function reference(t: { enc: Float32Array; dec: Float32Array; bEnc: Float32Array; bDec: Float32Array; theta: Float32Array; skip: Float32Array | null }, u: Float64Array): Float64Array {
  const pre = Float64Array.from({ length: M }, (_, i) => t.bEnc[i] + u.reduce((s, v, j) => s + v * t.enc[j * M + i], 0));
  const f = pre.map((v, i) => (v > t.theta[i] ? Math.max(v, 0) : 0));
  return Float64Array.from({ length: D }, (_, r) => {
    let y = t.bDec[r];
    for (let i = 0; i < M; i++) y += f[i] * t.dec[i * D + r];
    if (t.skip) for (let j = 0; j < D; j++) y += u[j] * t.skip[r * D + j];
    return y;
  });
}

const CASES: readonly { name: string; model: AnyRandomModel; gain: string; bias: string | null; unitOffset: boolean; layout: 'gemma-scope-2' | 'saelens' }[] = [
  {
    name: 'a Gemma Scope 2 transcoder on a Gemma 2 checkpoint: (1 + w) folded into W_enc',
    model: { family: 'gemma', modelType: 'gemma2', layers: 2, d: D, heads: 2, kvHeads: 1, headDim: 8, dMlp: 32, vocab: 40, theta: 1e4, window: 4, queryPreAttnScalar: 8, attnSoftcap: 50, finalSoftcap: 30 },
    gain: 'model.layers.1.pre_feedforward_layernorm.weight', bias: null, unitOffset: true, layout: 'gemma-scope-2',
  },
  {
    name: 'a SAELens skip transcoder on GPT-2: LayerNorm weight and bias folded into W_enc, b_enc, W_skip and b_dec',
    model: { family: 'gpt2', layers: 2, d: D, heads: 2, vocab: 40, nPos: 32, untiedHead: false },
    gain: 'h.1.ln_2.weight', bias: 'h.1.ln_2.bias', unitOffset: false, layout: 'saelens',
  },
];

describe('--fold-input-norm', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const root = tempDir('input-norm');
      const weights = writeRandomModel(path.join(root, 'model'), c.model, 5);
      const next = rng(9);
      const t = {
        enc: random(next, D * M, 0.5), dec: random(next, M * D, 0.4), bEnc: random(next, M, 0.2), bDec: random(next, D, 0.2),
        theta: Float32Array.from({ length: M }, () => 0.05 * next()), skip: c.layout === 'saelens' ? random(next, D * D, 0.3) : null,
      };
      const src = path.join(root, 'tc');
      if (c.layout === 'gemma-scope-2') {
        writeSafetensorsFile(path.join(src, 'params.safetensors'), {
          w_enc: { dtype: 'F32', shape: [D, M], data: t.enc }, w_dec: { dtype: 'F32', shape: [M, D], data: t.dec },
          b_enc: { dtype: 'F32', shape: [M], data: t.bEnc }, b_dec: { dtype: 'F32', shape: [D], data: t.bDec }, threshold: { dtype: 'F32', shape: [M], data: t.theta },
        });
        writeJson(path.join(src, 'config.json'), { hf_hook_point_in: 'model.layers.1.pre_feedforward_layernorm.output', hf_hook_point_out: 'model.layers.1.post_feedforward_layernorm.output', architecture: 'jump_relu', width: M });
      } else {
        writeSafetensorsFile(path.join(src, 'sae_weights.safetensors'), {
          W_enc: { dtype: 'F32', shape: [D, M], data: t.enc }, W_dec: { dtype: 'F32', shape: [M, D], data: t.dec },
          b_enc: { dtype: 'F32', shape: [M], data: t.bEnc }, b_dec: { dtype: 'F32', shape: [D], data: t.bDec }, threshold: { dtype: 'F32', shape: [M], data: t.theta },
          W_skip: { dtype: 'F32', shape: [D, D], data: t.skip! },
        });
        writeJson(path.join(src, 'cfg.json'), { architecture: 'jumprelu_skip_transcoder', d_in: D, d_sae: M, d_out: D, apply_b_dec_to_input: false, normalize_activations: 'none', metadata: { sae_lens_version: '6.5.0', hook_name: 'blocks.1.ln2.hook_normalized', hook_name_out: 'blocks.1.hook_mlp_out' } });
      }
      const plain = path.join(root, 'plain');
      const unfolded = await runCli(['sae', 'import', src, '--out', plain]);
      expect(unfolded.code, unfolded.stderr).toBe(0);
      if (c.layout === 'gemma-scope-2') expect(unfolded.stderr).toMatch(/--fold-input-norm/);
      const out = path.join(root, 'folded');
      const r = await runCli(['sae', 'import', src, '--out', out, '--fold-input-norm', path.join(root, 'model')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/--fold-input-norm/);

      const sae = loadSae(out).sae;
      expect(sae.cfg.metadata.hook_name).toBe('blocks.1.ln2.hook_normalized');
      expect(sae.cfg.metadata.interp_input_norm_folded).toBeTruthy();
      const g = weights.get(c.gain)!.data;
      const b = c.bias ? weights.get(c.bias)!.data : null;
      const xhat = random(rng(4), N * D, 1.5);
      const want: number[] = [];
      for (let n = 0; n < N; n++) {
        const u = Float64Array.from({ length: D }, (_, j) => xhat[n * D + j] * (c.unitOffset ? 1 + g[j] : g[j]) + (b ? b[j] : 0));
        want.push(...reference(t, u));
      }
      const f = encodeReference(sae, xhat, N);
      expect(f.some((v) => v !== 0)).toBe(true);
      expectClose(decodeReference(sae, f, N, xhat), want, 1e-4, 1e-4, 'folded transcoder on x̂');
      // and without the fold it does not compute that (the gain matters)
      const raw = loadSae(plain).sae;
      const rawOut = decodeReference(raw, encodeReference(raw, xhat, N), N, xhat);
      expect(Math.max(...rawOut.map((v, i) => Math.abs(v - want[i])))).toBeGreaterThan(1e-2);

      const again = await runCli(['sae', 'import', out, '--out', path.join(root, 'twice'), '--fold-input-norm', path.join(root, 'model')]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/already folded/);
      expect(fs.existsSync(path.join(root, 'twice'))).toBe(false);
    });
  }

  it('refuses an SAE, naming the fix', async () => {
    const root = tempDir('input-norm-sae');
    writeRandomModel(path.join(root, 'model'), CASES[1].model, 5);
    const src = path.join(root, 'sae');
    const next = rng(1);
    writeSafetensorsFile(path.join(src, 'sae_weights.safetensors'), {
      W_enc: { dtype: 'F32', shape: [D, M], data: random(next, D * M, 1) }, W_dec: { dtype: 'F32', shape: [M, D], data: random(next, M * D, 1) },
      b_enc: { dtype: 'F32', shape: [M], data: new Float32Array(M) }, b_dec: { dtype: 'F32', shape: [D], data: new Float32Array(D) },
    });
    writeJson(path.join(src, 'cfg.json'), { architecture: 'standard', d_in: D, d_sae: M, metadata: { sae_lens_version: '6.5.0', hook_name: 'blocks.1.ln2.hook_normalized' } });
    const r = await runCli(['sae', 'import', src, '--out', path.join(root, 'out'), '--fold-input-norm', path.join(root, 'model')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/applies to transcoders/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
