/**
 * Batched runs equal one-by-one runs: left padding with a mask and position ids that follow the
 * mask must not change any real token's hook values or logits (TransformerLens #1609), for
 * prompts of random lengths (property test, fast-check).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import { fixture, isolateCache } from '../helpers/fixtures.js';

isolateCache();

const HOOKS = ['blocks.0.hook_resid_post', 'blocks.1.attn.hook_z', 'blocks.1.mlp.hook_post', 'ln_final.hook_normalized'];

for (const name of ['gpt2-tiny', 'llama-stories260K']) {
  const dir = fixture(name);
  describe.skipIf(dir === null)(`batched = one by one: ${name}`, () => {
    let model: HookedTransformer;
    beforeAll(async () => { model = await HookedTransformer.load(dir as string); });
    afterAll(async () => { await model.dispose(); });

    it('gives the same hook values and logits at every real token (1e-4)', async () => {
      const V = model.config.vocabSize;
      const prompt = fc.array(fc.integer({ min: 3, max: V - 1 }), { minLength: 1, maxLength: 14 });
      await fc.assert(
        fc.asyncProperty(fc.array(prompt, { minLength: 2, maxLength: 4 }), async (prompts) => {
          const batched = await model.run(prompts, { fetch: HOOKS });
          const P = Math.max(...prompts.map((p) => p.length));
          for (let r = 0; r < prompts.length; r++) {
            const alone = await model.run([prompts[r]], { fetch: HOOKS });
            const pad = P - prompts[r].length;
            for (const hook of [...HOOKS, 'logits']) {
              const a = hook === 'logits' ? alone.logits : alone.hooks.get(hook);
              const bt = hook === 'logits' ? batched.logits : batched.hooks.get(hook);
              if (!a || !bt) throw new Error(`missing ${hook}`);
              const width = a.data.length / prompts[r].length; // all these hooks are [b, p, ...]
              const rowStart = (r * P + pad) * width;
              for (let i = 0; i < a.data.length; i++) {
                const diff = Math.abs(a.data[i] - bt.data[rowStart + i]);
                if (!(diff <= 1e-4 + 1e-4 * Math.abs(a.data[i]))) throw new Error(`${hook} row ${r} element ${i}: alone ${a.data[i]} batched ${bt.data[rowStart + i]}`);
              }
            }
          }
        }),
        { numRuns: 12, seed: 20261124 },
      );
    });

    it('right padding gives the same values too when positions follow the mask', async () => {
      const prompts = [[5, 9, 11, 30], [7, 8]];
      const left = await model.run(prompts, { fetch: ['blocks.1.hook_resid_post'] });
      const leftBatch = model.batch(prompts);
      expect(leftBatch.offsets).toEqual([0, 2]);
      const { makeBatch } = await import('../../src/runtime/batch.js');
      const right = await model.run(makeBatch(prompts, 0, model.config.vocabSize, 'right'), { fetch: ['blocks.1.hook_resid_post'] });
      const d = model.config.dModel;
      const l = left.hooks.get('blocks.1.hook_resid_post')?.data as Float32Array;
      const rt = right.hooks.get('blocks.1.hook_resid_post')?.data as Float32Array;
      // Row 1: left-padded tokens sit at padded positions 2..3, right-padded at 0..1.
      for (let i = 0; i < 2 * d; i++) expect(Math.abs(l[(4 + 2) * d + i] - rt[4 * d + i])).toBeLessThan(1e-4);
    });
  });
}
