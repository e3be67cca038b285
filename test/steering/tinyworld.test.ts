/**
 * The acceptance check on TinyWorld, where the ground truth is the generator's own scorer: a
 * happy − sad difference-of-means vector (read from the first mood word on, at resid_post.3, the
 * best layer of the layer sweep in steering/README.md) turns sad story openings happy in ≥ 80% of
 * prompts at a coefficient whose neutral-text CE rises by less than 0.3 nats, and a random vector
 * of the same norm at the same hook and coefficients does not. Prompts are held-out pairs (the
 * vector reads pairs 0–199, the prompts come from pairs 400+), sampled at temperature 1 with the
 * same seed per prompt in every condition.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TINYWORLD_MODEL_DIR, tinyworldRecords } from '../../datasets/tinyworld/index.js';
import type { PairRecord } from '../../datasets/tinyworld/index.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { resolveScale } from '../../steering/interventions.js';
import { hookMeanNorm } from '../../steering/metrics.js';
import { meanDifference, pairDifferences, randomVector } from '../../steering/sources.js';
import { runSteer } from '../../steering/steer.js';
import type { SteerArm } from '../../steering/steer.js';
import { sadOpenings } from '../../datasets/tinyworld/index.js';
import { tinyworldMoodScorer } from '../../datasets/tinyworld/providers.js';
import { vectorNorm } from '../../steering/vector.js';
import { isolateCache } from '../helpers/fixtures.js';

const HOOK = 'blocks.3.hook_resid_post';
const PROMPTS = 40;

describe('TinyWorld: happy − sad steering', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    isolateCache();
    model = await HookedTransformer.load(TINYWORLD_MODEL_DIR);
  });

  it('turns ≥ 80% of sad openings happy within 0.3 nats of neutral ΔCE; a random vector of the same norm does not', async () => {
    const pairs = (tinyworldRecords('tinyworld:pairs-happy-sad', { count: 200 }) as PairRecord[]).map((p) => ({ positive: model.encode(p.positive), negative: model.encode(p.negative) }));
    const v = meanDifference(await pairDifferences(model, HOOK, pairs, { kind: 'from-first-difference' }));
    const prompts = sadOpenings(PROMPTS).map((o) => model.encode(o.text));
    const neutral = (tinyworldRecords('tinyworld:neutral', { count: 64 }) as { text: string }[]).map((r) => model.encode(r.text));
    const meanNorm = await hookMeanNorm(model, HOOK, neutral);
    const arm = (vector: Float32Array, label: string, control: SteerArm['control']): SteerArm => ({
      label, hooks: [HOOK], zeroIsBaseline: true, control,
      make: (c) => ({ kind: 'add', hooks: [HOOK], vector, scale: resolveScale(c, vector, meanNorm), positions: { kind: 'all' } }),
    });
    const random = randomVector(v.length, vectorNorm(v), 12345);
    const result = await runSteer({
      model, prompts, neutral, arms: [arm(v, 'happy − sad', () => arm(random, 'random', null))], control: true,
      coefficients: [0.6, 0.7, 0.8, 0.9].map((value) => ({ units: 'norm' as const, value })),
      generation: { maxNewTokens: 40, temperature: 1, seed: 0 }, behavior: { kind: 'text', scorer: tinyworldMoodScorer('happy') },
      monitor: null, ceBudget: 0.3, batchSize: 20,
    });
    const table = (a: typeof result.arms[number]) => a.results.map((r) => `${r.coeff.value}x: ${(r.successRate! * 100).toFixed(0)}% ΔCE ${r.neutral!.ceDelta.toFixed(3)}`).join('; ');
    const steered = result.arms[0];
    const control = result.control!;
    console.log(`baseline ${(result.baseline.successRate! * 100).toFixed(0)}% | steered ${table(steered)} | random ${table(control)}`);
    expect(result.baseline.successRate).toBeLessThan(0.3);
    const good = steered.results.filter((r) => r.successRate! >= 0.8 && r.neutral!.ceDelta < 0.3);
    expect(good.length).toBeGreaterThan(0);
    expect(steered.knee).not.toBeNull();
    expect(steered.results[steered.knee!.index].successRate).toBeGreaterThanOrEqual(0.8);
    expect(control.results.every((r) => r.successRate! < 0.5)).toBe(true);
    await model.dispose();
  }, 900_000);
});
