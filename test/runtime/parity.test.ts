/**
 * Hook-by-hook parity with reference tensors computed by other people's code (nanoGPT and
 * llama2.c, see ../shared/fixtures/README.md): every tensor in reference.safetensors within
 * |got − ref| ≤ atol + rtol·|ref| (atol = rtol = 1e-4), and greedy ids equal exactly.
 */
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../../src/model/index.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { compareReference } from '../../src/runtime/verify.js';
import { fixture, isolateCache } from '../helpers/fixtures.js';

isolateCache();

for (const name of ['gpt2-tiny', 'llama-stories260K']) {
  const dir = fixture(name);
  describe.skipIf(dir === null)(`parity: ${name}`, () => {
    it('matches every reference tensor at atol = rtol = 1e-4, in forward order', async () => {
      const model = await HookedTransformer.load(dir as string);
      const report = await compareReference(model, openSafetensors(`${dir}/reference.safetensors`), { atol: 1e-4, rtol: 1e-4 });
      const failing = report.hooks.filter((h) => !h.pass);
      expect(failing.map((h) => `${h.name}: max |diff| ${h.maxAbs}`)).toEqual([]);
      expect(report.hooks.length).toBeGreaterThan(40);
      console.log(`${name}: ${report.hooks.length} tensors, worst max |diff| ${Math.max(...report.hooks.map((h) => h.maxAbs)).toExponential(2)}`);
      await model.dispose();
    });
  });
}
