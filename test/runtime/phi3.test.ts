/**
 * Phi-3 is Llama with fused projections: qkv_proj stacks the q, k and v rows, gate_up_proj the
 * gate and up rows (transformers' models/phi3/modeling_phi3.py splits them in that order). The
 * same weights written both ways must give the same logits and hooks; a sliding window in a phi3
 * config applies to every layer, as Mistral's does.
 */
import * as fs from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/model/index.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { writeRandomModel, type RandomLlama } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';

isolateCache();
const SPEC: RandomLlama = { family: 'llama', layers: 2, d: 24, heads: 4, kvHeads: 2, dMlp: 40, vocab: 50, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' };

function fusedCopy(llamaDir: string, weights: ReturnType<typeof writeRandomModel>, extra: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'interp-phi3-'));
  const f32 = (name: string) => Float32Array.from((weights.get(name) as { data: Float64Array }).data);
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, w] of weights) {
    if (/\.(q_proj|k_proj|v_proj|gate_proj|up_proj)\.weight$/.test(name)) continue;
    tensors[name] = { dtype: 'F32', shape: w.shape, data: Float32Array.from(w.data) };
  }
  const dh = SPEC.d / SPEC.heads;
  for (let i = 0; i < SPEC.layers; i++) {
    const a = `model.layers.${i}.self_attn`;
    const m = `model.layers.${i}.mlp`;
    const qkv = new Float32Array((SPEC.heads + 2 * SPEC.kvHeads) * dh * SPEC.d);
    qkv.set(f32(`${a}.q_proj.weight`), 0);
    qkv.set(f32(`${a}.k_proj.weight`), SPEC.heads * dh * SPEC.d);
    qkv.set(f32(`${a}.v_proj.weight`), (SPEC.heads + SPEC.kvHeads) * dh * SPEC.d);
    tensors[`${a}.qkv_proj.weight`] = { dtype: 'F32', shape: [(SPEC.heads + 2 * SPEC.kvHeads) * dh, SPEC.d], data: qkv };
    const gateUp = new Float32Array(2 * SPEC.dMlp * SPEC.d);
    gateUp.set(f32(`${m}.gate_proj.weight`), 0);
    gateUp.set(f32(`${m}.up_proj.weight`), SPEC.dMlp * SPEC.d);
    tensors[`${m}.gate_up_proj.weight`] = { dtype: 'F32', shape: [2 * SPEC.dMlp, SPEC.d], data: gateUp };
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const config = JSON.parse(fs.readFileSync(path.join(llamaDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'phi3', ...extra }));
  return dir;
}

describe('phi3', () => {
  it('fused qkv_proj / gate_up_proj give the logits and hooks of the same weights written unfused', async () => {
    const llamaDir = mkdtempSync(path.join(tmpdir(), 'interp-phi3-llama-'));
    const weights = writeRandomModel(llamaDir, SPEC, 9);
    const phi = await HookedTransformer.load(fusedCopy(llamaDir, weights, {}));
    const llama = await HookedTransformer.load(llamaDir);
    expect(phi.family.name).toBe('llama');
    const ids = [[1, 4, 8, 15, 16, 23, 42], [1, 7, 7]];
    const hooks = ['blocks.1.attn.hook_k', 'blocks.1.mlp.hook_pre_linear', 'blocks.1.hook_resid_post'];
    const a = await phi.run(ids, { fetch: hooks });
    const b = await llama.run(ids, { fetch: hooks });
    for (const h of hooks) expect(a.hooks.get(h)?.data).toEqual(b.hooks.get(h)?.data);
    const la = a.logits?.data as Float32Array;
    const lb = b.logits?.data as Float32Array;
    for (let i = 0; i < la.length; i++) expect(Math.abs(la[i] - lb[i])).toBeLessThan(1e-5);
    await phi.dispose();
    await llama.dispose();
  });

  it('a sliding_window in a phi3 config masks every layer; keys at distance ≥ W get no attention', async () => {
    const llamaDir = mkdtempSync(path.join(tmpdir(), 'interp-phi3-llama-'));
    const weights = writeRandomModel(llamaDir, SPEC, 10);
    const phi = await HookedTransformer.load(fusedCopy(llamaDir, weights, { sliding_window: 3 }));
    const out = await phi.run([[1, 4, 8, 15, 16, 23]], { fetch: ['blocks.0.attn.hook_pattern', 'blocks.1.attn.hook_pattern'], logits: false });
    for (const hook of ['blocks.0.attn.hook_pattern', 'blocks.1.attn.hook_pattern']) {
      const p = (out.hooks.get(hook) as { data: Float32Array }).data;
      const T = 6;
      for (let h = 0; h < SPEC.heads; h++) {
        for (let i = 0; i < T; i++) {
          for (let j = 0; j < T; j++) {
            const visible = j <= i && i - j < 3;
            expect(p[(h * T + i) * T + j] > 0, `${hook} head ${h} query ${i} key ${j}`).toBe(visible);
          }
        }
      }
    }
    await phi.dispose();
  });
});
