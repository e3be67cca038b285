/**
 * The float64 reference of test/helpers/checkpoints/hf-reference.ts against the shared
 * next-wave fixtures (neox-tiny, gemma2-tiny, gemma3-tiny, qwen3-tiny), whose tensors come from
 * litgpt (see ../shared/fixtures/README.md): every reference tensor within atol = rtol = 1e-4,
 * masked pattern entries exactly where the fixture's are, and greedy ids (re-running the whole
 * sequence each step, past the sliding window) equal greedy.json. This checks the reference that
 * test/runtime/families.test.ts holds the runtime to, without running the runtime.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../../src/model/index.js';
import { hfReferenceForward, readCheckpoint64 } from '../helpers/checkpoints/hf-reference.js';
import { fixture } from '../helpers/fixtures.js';

const FIXTURES = ['neox-tiny', 'gemma2-tiny', 'gemma3-tiny', 'qwen3-tiny'];

for (const name of FIXTURES) {
  const dir = fixture(name);
  describe.skipIf(dir === null)(`float64 reference against ${name}`, () => {
    it('agrees with every tensor of reference.safetensors (atol = rtol = 1e-4) and masks the same entries', () => {
      const { config, weights } = readCheckpoint64(dir as string);
      const ref = openSafetensors(path.join(dir as string, 'reference.safetensors'));
      const ids = ref.readInts('input_ids');
      const [B, T] = ids.shape;
      const rows = Array.from({ length: B }, (_, r) => hfReferenceForward(config, weights, ids.data.slice(r * T, (r + 1) * T)));
      const names = [...ref.tensors.keys()].filter((n) => n !== 'input_ids');
      const report: string[] = [];
      let worst = 0;
      for (const tensor of names) {
        const expected = ref.readF32(tensor);
        const per = expected.length / B;
        let maxAbs = 0;
        let budget = 0;
        for (let r = 0; r < B; r++) {
          const got = rows[r].get(tensor);
          if (!got) throw new Error(`${name}: the reference computes no ${tensor}`);
          expect(got.length, tensor).toBe(per);
          for (let i = 0; i < per; i++) {
            const e = expected[r * per + i];
            const diff = Math.abs(got[i] - e);
            maxAbs = Math.max(maxAbs, diff);
            budget = Math.max(budget, diff / (1e-4 + 1e-4 * Math.abs(e)));
            if (tensor.endsWith('hook_pattern') && (e === 0) !== (got[i] === 0)) report.push(`${tensor} row ${r} element ${i}: fixture ${e}, reference ${got[i]} (mask differs)`);
          }
        }
        worst = Math.max(worst, budget);
        if (!(budget <= 1)) report.push(`${tensor}: max |diff| ${maxAbs.toExponential(2)} (${budget.toFixed(2)}× the tolerance)`);
      }
      expect(report).toEqual([]);
      expect(names.length).toBeGreaterThan(15);
      console.log(`${name}: ${names.length} tensors, worst ${(worst * 100).toFixed(1)}% of the tolerance`);
    });

    const greedyFile = path.join(dir ?? '', 'greedy.json');
    it.skipIf(!existsSync(greedyFile))('reproduces greedy.json, re-running the whole sequence at each step', () => {
      const { config, weights } = readCheckpoint64(dir as string);
      const greedy = JSON.parse(readFileSync(greedyFile, 'utf8')) as { prompt_ids: number[]; generated_ids: number[] };
      const seq = [...greedy.prompt_ids];
      const V = config.vocab_size as number;
      for (let step = 0; step < greedy.generated_ids.length; step++) {
        const logits = hfReferenceForward(config, weights, seq).get('logits') as Float64Array;
        const last = logits.subarray((seq.length - 1) * V, seq.length * V);
        seq.push(last.indexOf(Math.max(...last)));
      }
      expect(seq.slice(greedy.prompt_ids.length)).toEqual(greedy.generated_ids);
    });
  });
}
