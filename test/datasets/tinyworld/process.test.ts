import { describe, expect, it } from 'vitest';
import { makeRng, mixSeed, pick, runProcess, sampleChoice } from '../../../datasets/tinyworld/process.js';
import type { Process } from '../../../datasets/tinyworld/process.js';
import { InternalError } from '../../../src/errors.js';

function* shared(): Process<void> {
  // "the cat" 0.5, "the dog" 0.2, "a cat" 0.3: after "the", cat has 0.5/0.7.
  yield* pick([
    { words: ['the', 'cat'], p: 0.5, value: 1 },
    { words: ['the', 'dog'], p: 0.2, value: 2 },
    { words: ['a', 'cat'], p: 0.3, value: 3 },
  ]);
}

describe('pick', () => {
  it('yields the marginal over phrases that share leading words', () => {
    const run = runProcess(shared(), (_c, i) => ['the', 'cat'][i], () => null, { recordChoices: true });
    expect(run.complete).toBe(true);
    expect(run.choices[0]).toEqual({ words: ['the', 'a'], probs: [0.7, 0.3] });
    expect(run.choices[1].words).toEqual(['cat', 'dog']);
    expect(run.choices[1].probs[0]).toBeCloseTo(0.5 / 0.7, 15);
    expect(Math.exp(run.logProbs[0] + run.logProbs[1])).toBeCloseTo(0.5, 15);
  });

  it('refuses phrase sets that are not prefix-free (the hazard: a hidden decision)', () => {
    function* bad(): Process<void> {
      yield* pick([{ words: ['the'], p: 0.5, value: 1 }, { words: ['the', 'cat'], p: 0.5, value: 2 }]);
    }
    expect(() => runProcess(bad(), () => 'the', () => null)).toThrow(InternalError);
  });

  it('reports the first word outside the grammar', () => {
    const run = runProcess(shared(), (_c, i) => ['the', 'owl'][i], () => null);
    expect(run.complete).toBe(false);
    expect(run.rejectedAt).toBe(1);
  });
});

describe('random numbers', () => {
  it('are deterministic per seed and spread over [0, 1)', () => {
    const a = makeRng(42);
    const b = makeRng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
  });

  it('sample a choice with its probabilities', () => {
    const rng = makeRng(7);
    const c = { words: ['x', 'y'], probs: [0.25, 0.75] };
    let x = 0;
    for (let i = 0; i < 10_000; i++) if (sampleChoice(c, rng) === 'x') x++;
    expect(Math.abs(x / 10_000 - 0.25)).toBeLessThan(0.02);
  });
});
