/**
 * Batched runs equal one-by-one runs for every new family (property test, fast-check): left
 * padding with a mask and position ids that follow it must not change a real token's hook values,
 * attention pattern (padded keys get exactly 0) or logits — with sliding windows of 3–4 keys
 * shorter than the prompts, two RoPE bases, q/k norms, soft-caps and GPT-NeoX's partial rotary.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import type { RunResult } from '../../src/runtime/model.js';
import { writeRandomModel } from '../helpers/checkpoints.js';
import type { RandomFamilyModel } from '../helpers/checkpoints.js';
import { isolateCache } from '../helpers/fixtures.js';

isolateCache();

const MODELS: Record<string, RandomFamilyModel> = {
  gpt_neox: { family: 'gpt_neox', layers: 2, d: 24, heads: 2, dMlp: 48, vocab: 40, rotaryPct: 0.5, rotaryBase: 1e4, parallel: true },
  gemma: { family: 'gemma', modelType: 'gemma', layers: 2, d: 16, heads: 2, kvHeads: 1, headDim: 12, dMlp: 32, vocab: 40, theta: 1e4 },
  gemma2: { family: 'gemma', modelType: 'gemma2', layers: 2, d: 16, heads: 4, kvHeads: 2, headDim: 8, dMlp: 32, vocab: 40, theta: 1e4, window: 3, queryPreAttnScalar: 12, attnSoftcap: 5, finalSoftcap: 4 },
  gemma3_text: { family: 'gemma', modelType: 'gemma3_text', layers: 3, d: 16, heads: 2, kvHeads: 1, headDim: 16, dMlp: 32, vocab: 40, theta: 1e6, localTheta: 1e4, window: 4, pattern: 3, queryPreAttnScalar: 10 },
  gemma3: { family: 'gemma', modelType: 'gemma3', layers: 2, d: 16, heads: 2, kvHeads: 2, headDim: 8, dMlp: 32, vocab: 40, theta: 1e6, localTheta: 1e4, window: 3, pattern: 2, queryPreAttnScalar: 8 },
  qwen3: { family: 'qwen3', layers: 2, d: 16, heads: 4, kvHeads: 1, headDim: 8, dMlp: 32, vocab: 40, theta: 1e6, tied: false },
};

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 + 1e-4 * Math.abs(a);

/** Row r of a batch (left-padded to P) against the same prompt run alone; throws naming the first difference. */
function checkRow(alone: RunResult, batched: RunResult, hooks: readonly string[], r: number, p: number, P: number): void {
  const pad = P - p;
  for (const hook of [...hooks, 'logits']) {
    const a = hook === 'logits' ? alone.logits : alone.hooks.get(hook);
    const bt = hook === 'logits' ? batched.logits : batched.hooks.get(hook);
    if (!a || !bt) throw new Error(`missing ${hook}`);
    if (hook.endsWith('hook_pattern')) {
      const H = a.shape[1];
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < p; i++) {
          const row = ((r * H + h) * P + pad + i) * P;
          for (let k = 0; k < pad; k++) if (bt.data[row + k] !== 0) throw new Error(`${hook} row ${r} head ${h} query ${i}: padded key ${k} gets ${bt.data[row + k]}`);
          for (let j = 0; j < p; j++) {
            const x = a.data[(h * p + i) * p + j];
            const y = bt.data[row + pad + j];
            if (!close(x, y)) throw new Error(`${hook} row ${r} head ${h} query ${i} key ${j}: alone ${x}, batched ${y}`);
          }
        }
      }
      continue;
    }
    const width = a.data.length / p; // [b, p, ...]
    for (let i = 0; i < a.data.length; i++) {
      const y = bt.data[(r * P + pad) * width + i];
      if (!close(a.data[i], y)) throw new Error(`${hook} row ${r} element ${i}: alone ${a.data[i]}, batched ${y}`);
    }
  }
}

for (const [name, spec] of Object.entries(MODELS)) {
  describe(`batched = one by one: ${name}`, () => {
    let model: HookedTransformer;
    beforeAll(async () => {
      const dir = mkdtempSync(path.join(tmpdir(), `interp-batch-${name}-`));
      writeRandomModel(dir, spec, 23);
      model = await HookedTransformer.load(dir);
    });
    afterAll(async () => { await model.dispose(); });

    it('gives the same hooks, patterns and logits at every real token (1e-4)', async () => {
      const last = spec.layers - 1;
      const hooks = ['blocks.0.ln1.hook_scale', 'blocks.0.attn.hook_pattern', 'blocks.0.attn.hook_z', `blocks.${last}.attn.hook_pattern`, `blocks.${last}.hook_resid_post`, 'ln_final.hook_normalized'];
      const prompt = fc.array(fc.integer({ min: 3, max: spec.vocab - 1 }), { minLength: 1, maxLength: 10 });
      await fc.assert(
        fc.asyncProperty(fc.array(prompt, { minLength: 2, maxLength: 3 }), async (prompts) => {
          const batched = await model.run(prompts, { fetch: hooks });
          const P = Math.max(...prompts.map((q) => q.length));
          for (let r = 0; r < prompts.length; r++) checkRow(await model.run([prompts[r]], { fetch: hooks }), batched, hooks, r, prompts[r].length, P);
        }),
        { numRuns: 5, seed: 20260311 },
      );
    });
  });
}
