/**
 * The runtime against a float64 TypeScript forward pass on random checkpoints whose shapes the
 * fixtures do not cover: untied heads, GQA ratios 1, 2 and 4, rope_theta 5e5, Qwen2's q/k/v
 * biases, Mistral's config. Every hook the reference computes must agree (atol = rtol = 1e-4).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import { isolateCache } from '../helpers/fixtures.js';
import { referenceForward, writeRandomModel } from '../helpers/checkpoints.js';
import type { RandomModel } from '../helpers/checkpoints.js';

isolateCache();

const CASES: Record<string, RandomModel> = {
  'gpt2 with an untied head, 2 layers, 3 heads': { family: 'gpt2', layers: 2, d: 48, heads: 3, vocab: 97, nPos: 40, untiedHead: true },
  'llama, GQA x4, untied, rope_theta 5e5': { family: 'llama', layers: 2, d: 64, heads: 8, kvHeads: 2, dMlp: 96, vocab: 101, theta: 5e5, tied: false, qkvBias: false, modelType: 'llama' },
  'qwen2 with q/k/v bias, GQA x2, tied': { family: 'llama', layers: 2, d: 32, heads: 4, kvHeads: 2, dMlp: 56, vocab: 67, theta: 1e6, tied: true, qkvBias: true, modelType: 'qwen2' },
  'mistral config, no GQA': { family: 'llama', layers: 1, d: 24, heads: 2, kvHeads: 2, dMlp: 40, vocab: 50, theta: 1e4, tied: false, qkvBias: false, modelType: 'mistral' },
};

describe('random checkpoints against a float64 reference', () => {
  for (const [label, m] of Object.entries(CASES)) {
    it(label, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'interp-rand-'));
      const weights = writeRandomModel(dir, m, 7);
      const ids = Array.from({ length: 13 }, (_, i) => (i * 37 + 5) % m.vocab);
      const expected = referenceForward(m, weights, ids);
      const model = await HookedTransformer.load(dir);
      const names = [...expected.keys()].filter((n) => n !== 'logits');
      const result = await model.run([ids], { fetch: names });
      const bad: string[] = [];
      for (const [name, ref] of expected) {
        const got = name === 'logits' ? result.logits : result.hooks.get(name);
        expect(got, name).toBeDefined();
        expect(got?.data.length, name).toBe(ref.length);
        let worst = 0;
        ref.forEach((r, i) => { worst = Math.max(worst, Math.abs((got?.data[i] ?? NaN) - r) / (1e-4 + 1e-4 * Math.abs(r))); });
        if (!(worst <= 1)) bad.push(`${name} (${worst.toFixed(2)}× the tolerance)`);
      }
      expect(bad).toEqual([]);
      await model.dispose();
    });
  }
});
