/**
 * Steering interventions against the properties the field has got wrong: coefficient 0 changes
 * nothing (bit-identical logits and tokens), the first generated token is steered (CAA #3),
 * batched steering equals one-by-one (absolute positions under left padding and the KV cache,
 * steering-vectors #60), and directional ablation at every residual writer equals the model whose
 * writing weights have v̂ projected out (Arditi et al. 2024, weight orthogonalisation).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/model/index.js';
import { generate } from '../../src/runtime/generate.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { compileIntervention, parseCoefficient, parsePositions, parseSweep, positionSelector, residualWriters, resolveScale } from '../../steering/interventions.js';
import type { SteeringIntervention } from '../../steering/interventions.js';
import { randomVector } from '../../steering/sources.js';
import { writeRandomModel } from '../helpers/checkpoints.js';
import type { RandomModel, Weights } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';

const LLAMA: RandomModel = { family: 'llama', layers: 2, d: 16, heads: 2, kvHeads: 1, dMlp: 24, vocab: 40, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' };
const GPT2: RandomModel = { family: 'gpt2', layers: 2, d: 16, heads: 2, vocab: 40, nPos: 64, untiedHead: true };
const PROMPTS = [[1, 5, 9, 12, 7], [1, 30, 4], [1, 8, 8, 21, 33, 2, 17]];

function add(hook: string, vector: Float32Array, scale: number, positions = 'all'): SteeringIntervention {
  return { kind: 'add', hooks: [hook], vector, scale, positions: parsePositions(positions) };
}

describe('steering interventions on a random Llama', () => {
  let model: HookedTransformer;
  const hook = 'blocks.1.hook_resid_pre';
  const v = randomVector(16, 8, 3);
  beforeAll(async () => {
    isolateCache();
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-steer-'));
    writeRandomModel(dir, LLAMA, 5);
    model = await HookedTransformer.load(dir);
  });
  afterAll(async () => { await model.dispose(); });

  it('coefficient 0 gives logits and generations identical to no intervention', async () => {
    const lengths = PROMPTS.map((p) => p.length);
    const zero = compileIntervention(add(hook, v, 0), lengths);
    const plain = await model.run(PROMPTS);
    const steered = await model.run(PROMPTS, { interventions: zero });
    expect(Buffer.from(steered.logits!.data.buffer).equals(Buffer.from(plain.logits!.data.buffer))).toBe(true);
    const a = await generate(model, PROMPTS, { maxNewTokens: 8, temperature: 1, seed: 4 });
    const b = await generate(model, PROMPTS, { maxNewTokens: 8, temperature: 1, seed: 4, interventions: zero });
    expect(b.sequences.map((s) => s.generated)).toEqual(a.sequences.map((s) => s.generated));
  });

  it('steers the first generated token: its choice under `all`, its processing under `generated`', async () => {
    const prompt = [PROMPTS[0]];
    const big = 40;
    const base = await generate(model, prompt, { maxNewTokens: 2 });
    const all = await generate(model, prompt, { maxNewTokens: 1, interventions: compileIntervention(add(hook, v, big), [5]) });
    expect(all.sequences[0].generated[0]).not.toBe(base.sequences[0].generated[0]);
    const gen = await generate(model, prompt, { maxNewTokens: 2, interventions: compileIntervention(add(hook, v, big, 'generated'), [5]) });
    // The first token is chosen from prompt positions only, so `generated` leaves its choice alone …
    expect(gen.sequences[0].generated[0]).toBe(base.sequences[0].generated[0]);
    // … but steers it when it is processed (step 1 under the KV cache): the second token equals a
    // cache-free run that adds v at absolute position 5 (the first generated token) only.
    const g0 = gen.sequences[0].generated[0];
    const manual = await model.run([[...PROMPTS[0], g0]], { interventions: [{ kind: 'add', hook, value: Float32Array.from(v, (x) => x * big), positions: (_r, pos) => pos === 5 }] });
    const logits = manual.logits!;
    const V = logits.shape[2];
    const last = logits.data.subarray(5 * V, 6 * V);
    const argmax = last.indexOf(Math.max(...last));
    expect(gen.sequences[0].generated[1]).toBe(argmax);
    expect(positionSelector(parsePositions('generated'), [5])).not.toBe('all');
  });

  it('batched steering equals one-by-one (left padding, KV cache, sampling seeds)', async () => {
    const iv = add(hook, v, 1.5, 'generated');
    const batched = await generate(model, PROMPTS, { maxNewTokens: 10, temperature: 1, seeds: [11, 12, 13], interventions: compileIntervention(iv, PROMPTS.map((p) => p.length)) });
    for (const [r, p] of PROMPTS.entries()) {
      const alone = await generate(model, [p], { maxNewTokens: 10, temperature: 1, seeds: [11 + r], interventions: compileIntervention(iv, [p.length]) });
      expect(batched.sequences[r].generated).toEqual(alone.sequences[0].generated);
    }
    const range = add(hook, v, 2, '2:4');
    const all = await model.run(PROMPTS, { interventions: compileIntervention(range, PROMPTS.map((p) => p.length)) });
    for (const [r, p] of PROMPTS.entries()) {
      const alone = await model.run([p], { interventions: compileIntervention(range, [p.length]) });
      const V = 40;
      const P = all.logits!.shape[1];
      const off = P - p.length;
      const got = all.logits!.data.subarray((r * P + off) * V, (r * P + P) * V);
      let diff = 0;
      for (let k = 0; k < got.length; k++) diff = Math.max(diff, Math.abs(got[k] - alone.logits!.data[k]));
      expect(diff).toBeLessThan(1e-5);
    }
  });

  it('resolves norm-unit coefficients against the hook mean norm', () => {
    expect(resolveScale(parseCoefficient('4'), v, 10)).toBe(4);
    expect(resolveScale(parseCoefficient('0.5x-norm'), v, 10)).toBeCloseTo(0.5 * 10 / 8, 6);
    expect(parseSweep('0:1x-norm:5').map((c) => c.value)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(parseSweep('0:1x-norm:5')[0].units).toBe('norm');
    expect(() => parseCoefficient('abc')).toThrow(/expected a number/);
    expect(() => parsePositions('5:3')).toThrow(/range/);
  });
});

/** Projects v̂ out of the residual-space side of every weight that writes to the residual stream. */
function orthogonalise(m: RandomModel, w: Weights, u: Float64Array): Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> {
  const d = u.length;
  const rows = (t: { data: Float64Array; shape: number[] }) => { // residual space is the last axis
    const out = Float64Array.from(t.data);
    for (let i = 0; i < out.length / d; i++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += out[i * d + j] * u[j];
      for (let j = 0; j < d; j++) out[i * d + j] -= dot * u[j];
    }
    return out;
  };
  const cols = (t: { data: Float64Array; shape: number[] }) => { // residual space is the first axis ([d, in], nn.Linear)
    const [, n] = t.shape;
    const out = Float64Array.from(t.data);
    for (let c = 0; c < n; c++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += out[j * n + c] * u[j];
      for (let j = 0; j < d; j++) out[j * n + c] -= dot * u[j];
    }
    return out;
  };
  const writers: Record<string, (t: { data: Float64Array; shape: number[] }) => Float64Array> = {};
  if (m.family === 'gpt2') {
    writers['wte.weight'] = rows;
    writers['wpe.weight'] = rows;
    for (let i = 0; i < m.layers; i++) for (const n of ['attn.c_proj.weight', 'attn.c_proj.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias']) writers[`h.${i}.${n}`] = rows;
  } else {
    writers['model.embed_tokens.weight'] = rows;
    for (let i = 0; i < m.layers; i++) for (const n of ['self_attn.o_proj.weight', 'mlp.down_proj.weight']) writers[`model.layers.${i}.${n}`] = cols;
  }
  const out: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of w) out[name] = { dtype: 'F32', shape: t.shape, data: Float32Array.from(writers[name] ? writers[name](t) : t.data) };
  return out;
}

describe('directional ablation at every layer', () => {
  for (const m of [LLAMA, GPT2]) {
    it(`equals the ${m.family} model with the direction projected out of its writing weights (logits ≤ 1e-4)`, async () => {
      isolateCache();
      const dir = mkdtempSync(path.join(tmpdir(), 'interp-ablate-'));
      const weights = writeRandomModel(dir, m, 9);
      const model = await HookedTransformer.load(dir);
      const dirV = randomVector(16, 3, 21);
      const u = Float64Array.from(dirV, (x) => x / 3);
      const ablate: SteeringIntervention = { kind: 'ablate', hooks: residualWriters(model), direction: dirV, positions: { kind: 'all' } };
      const ablated = await model.run(PROMPTS, { interventions: compileIntervention(ablate, PROMPTS.map((p) => p.length)) });
      const plain = await model.run(PROMPTS);
      await model.dispose();
      const dir2 = mkdtempSync(path.join(tmpdir(), 'interp-ortho-'));
      writeRandomModel(dir2, m, 9); // config.json (and the original weights, replaced next)
      writeSafetensors(path.join(dir2, 'model.safetensors'), orthogonalise(m, weights, u), { format: 'pt' });
      const ortho = await HookedTransformer.load(dir2);
      const want = await ortho.run(PROMPTS);
      await ortho.dispose();
      // Compare real positions only: padding is never steered (nor attended to), so its own logits differ.
      const batch = ortho.batch(PROMPTS);
      const V = m.vocab;
      let diff = 0;
      let moved = 0;
      for (let i = 0; i < batch.attention.length; i++) {
        if (!batch.attention[i]) continue;
        for (let k = i * V; k < (i + 1) * V; k++) {
          diff = Math.max(diff, Math.abs(want.logits!.data[k] - ablated.logits!.data[k]));
          moved = Math.max(moved, Math.abs(plain.logits!.data[k] - ablated.logits!.data[k]));
        }
      }
      expect(diff).toBeLessThan(1e-4);
      expect(moved).toBeGreaterThan(1e-3); // the ablation did something
      expect(residualWriters(model)).toHaveLength(1 + (m.family === 'gpt2' ? 1 : 0) + 2 * m.layers);
    });
  }
});
