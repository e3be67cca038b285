/**
 * Interventions compiled into the graph and JavaScript function hooks (segment mode): a zero
 * intervention leaves logits bit-identical; compiled and JavaScript versions of the same edit
 * agree; positions are absolute; directional ablation removes the direction; patching works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import type { Intervention } from '../../src/runtime/interventions.js';
import { fixture, isolateCache } from '../helpers/fixtures.js';

isolateCache();
const dir = fixture('llama-stories260K');
const PROMPTS = [[1, 45, 67, 200, 13, 99], [1, 300, 12]];
/** Padded index of each real token: row 1 is left-padded by 3. Padding positions are never compared. */
const REAL = [0, 1, 2, 3, 4, 5, 9, 10, 11];
/** Largest difference over real tokens of two [b, p, width] tensors. */
const maxDiff = (a: Float32Array, b: Float32Array) => {
  const width = a.length / 12;
  let m = 0;
  for (const t of REAL) for (let i = t * width; i < (t + 1) * width; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe.skipIf(dir === null)('interventions', () => {
  let model: HookedTransformer;
  let base: Float32Array;
  const d = 64;
  beforeAll(async () => {
    model = await HookedTransformer.load(dir as string);
    base = (await model.run(PROMPTS)).logits?.data as Float32Array;
  });
  afterAll(async () => { await model.dispose(); });

  const logits = async (interventions: Intervention[]) => (await model.run(PROMPTS, { interventions })).logits?.data as Float32Array;
  const direction = Float32Array.from({ length: d }, (_, i) => Math.sin(i + 1));

  it('a zero intervention of every kind leaves logits bit-identical', async () => {
    const zeroAdd = await logits([{ kind: 'add', hook: 'blocks.2.hook_resid_pre', value: new Float32Array(d) }]);
    const unitScale = await logits([{ kind: 'scale', hook: 'blocks.1.hook_attn_out', factor: 1 }]);
    const zeroDirection = await logits([{ kind: 'project_out', hook: 'resid_post.3', direction: new Float32Array(d) }]);
    const identityFn = await logits([{ kind: 'function', hook: 'blocks.2.hook_resid_mid', fn: () => undefined }]);
    for (const got of [zeroAdd, unitScale, zeroDirection]) expect(Buffer.from(got.buffer).equals(Buffer.from(base.buffer))).toBe(true);
    expect(maxDiff(identityFn, base)).toBeLessThan(1e-5);
  });

  it('adding a vector in the graph equals adding it in a JavaScript hook', async () => {
    const compiled = await logits([{ kind: 'add', hook: 'blocks.2.hook_resid_pre', value: direction }]);
    const viaJs = await logits([{ kind: 'function', hook: 'blocks.2.hook_resid_pre', fn: (t) => { for (let i = 0; i < t.data.length; i++) t.data[i] += direction[i % d]; } }]);
    expect(maxDiff(compiled, base)).toBeGreaterThan(1e-2);
    expect(maxDiff(compiled, viaJs)).toBeLessThan(1e-4);
  });

  it('JavaScript hooks inside a block (q, pattern) and several at once match compiled edits', async () => {
    const scaleQ = await logits([{ kind: 'scale', hook: 'blocks.1.attn.hook_q', factor: 0.5 }, { kind: 'add', hook: 'blocks.3.hook_mlp_out', value: direction }]);
    const viaJs = await logits([
      { kind: 'function', hook: 'blocks.1.attn.hook_q', fn: (t) => ({ data: t.data.map((x) => x * 0.5), shape: t.shape }) },
      { kind: 'function', hook: 'blocks.3.hook_mlp_out', fn: (t) => { for (let i = 0; i < t.data.length; i++) t.data[i] += direction[i % d]; } },
    ]);
    expect(maxDiff(scaleQ, base)).toBeGreaterThan(1e-3);
    expect(maxDiff(scaleQ, viaJs)).toBeLessThan(1e-4);
  });

  it('positions are absolute: adding at position 2 of each row touches that token only', async () => {
    const at2 = await model.run(PROMPTS, { fetch: ['blocks.2.hook_resid_pre'], interventions: [{ kind: 'add', hook: 'blocks.2.hook_resid_pre', value: direction, positions: (_r, pos) => pos === 2 }] });
    const clean = await model.run(PROMPTS, { fetch: ['blocks.2.hook_resid_pre'] });
    const a = at2.hooks.get('blocks.2.hook_resid_pre')?.data as Float32Array;
    const c = clean.hooks.get('blocks.2.hook_resid_pre')?.data as Float32Array;
    const P = 6;
    const changed: string[] = [];
    for (let r = 0; r < 2; r++) for (let p = 0; p < P; p++) {
      const delta = Math.abs(a[(r * P + p) * d] - c[(r * P + p) * d]);
      if (delta > 0) changed.push(`${r}:${p}`);
    }
    // Row 1 is left-padded by 3, so its absolute position 2 is padded index 5.
    expect(changed).toEqual(['0:2', '1:5']);
  });

  it('project_out removes the direction from the hook value', async () => {
    const out = await model.run(PROMPTS, { fetch: ['blocks.1.hook_resid_post'], interventions: [{ kind: 'project_out', hook: 'blocks.1.hook_resid_post', direction }] });
    const h = out.hooks.get('blocks.1.hook_resid_post')?.data as Float32Array;
    const norm = Math.hypot(...direction);
    for (const row of REAL) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += h[row * d + i] * direction[i];
      expect(Math.abs(dot / norm)).toBeLessThan(1e-4);
    }
  });

  it('replace patches values from another run (activation patching)', async () => {
    const other = [[1, 99, 98, 97, 96, 95], [1, 5, 6]];
    const donor = (await model.run(other, { fetch: ['blocks.1.hook_resid_post'] })).hooks.get('blocks.1.hook_resid_post')?.data as Float32Array;
    const patched = await logits([{ kind: 'replace', hook: 'blocks.1.hook_resid_post', value: donor }]);
    const donorLogits = (await model.run(other)).logits?.data as Float32Array;
    expect(maxDiff(patched, donorLogits)).toBeLessThan(1e-4); // everything downstream comes from the donor
  });

  it('unknown hooks name the nearest valid hook', async () => {
    await expect(model.run(PROMPTS, { fetch: ['blocks.1.hook_resid_pots'] })).rejects.toThrow(/blocks\.1\.hook_resid_post/);
    await expect(model.run(PROMPTS, { fetch: ['resid_post.9'] })).rejects.toThrow(/unknown hook/);
  });

  it('only fetched hooks are computed: a graph for an early hook has no later layers', async () => {
    const { buildGraph } = await import('../../src/runtime/build.js');
    const internals = model as unknown as { family: Parameters<typeof buildGraph>[0]; weights: Parameters<typeof buildGraph>[1]; pointsByName: Parameters<typeof buildGraph>[2] };
    const plan = (fetch: string[]) => ({ fetch, interventions: [], inputHooks: [], cutHooks: [], cacheLayers: null });
    const early = buildGraph(internals.family, internals.weights, internals.pointsByName, plan(['blocks.0.hook_resid_post']));
    const full = buildGraph(internals.family, internals.weights, internals.pointsByName, plan(['logits']));
    expect(early.bytes.length * 3).toBeLessThan(full.bytes.length);
    expect(Buffer.from(early.bytes).includes('model.layers.1.')).toBe(false);
  });
});
