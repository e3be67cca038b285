/**
 * Datasets plug into the techniques through registries, not imports: a second provider, written
 * here as a user would (a toy labelled-JSONL world), serves a named pair set to steering's
 * loadPairs, a behaviour to parseBehavior, and token labelers to the SAE's labelersFor, without
 * any change to sae/ or steering/. Unknown names list what is registered.
 */
import { describe, expect, it } from 'vitest';
import { datasetProviderFor, namedDatasetLines, registerDatasetProvider } from '../../src/dataset/providers.js';
import { UsageError } from '../../src/errors.js';
import { labelersFor, registerTokenLabelers } from '../../sae/index.js';
import { loadPairs, parseBehavior, registerBehavior, scoreContinuations } from '../../steering/index.js';
import type { HookedTransformer } from '../../src/runtime/model.js';

const PAIRS = [{ positive: 'a warm day', negative: 'a cold day' }, { positive: 'warm tea', negative: 'cold tea' }];

describe('dataset providers', () => {
  registerDatasetProvider({
    prefix: 'toy:',
    names: ['toy:pairs'],
    lines: (name) => {
      if (name !== 'toy:pairs') throw new UsageError(`no toy dataset ${name}`, 'use toy:pairs');
      return PAIRS.map((p) => JSON.stringify(p));
    },
  });
  registerBehavior({ prefix: 'toy:', example: 'toy:warm', parse: (value) => ({ name: `toy ${value}`, score: (text) => ({ score: text.includes('warm') ? 1 : 0, success: text.includes('warm') }) }) });
  registerTokenLabelers({
    name: 'toy',
    matches: (p) => p.startsWith('toy:'),
    labelers: { warmth: { name: 'toy-warmth', attributes: ['warm'], label: (tokens) => tokens.map((t) => (t.includes('warm') ? [0] : [])) } },
  });

  it('serve a named pair set to steering', () => {
    const set = loadPairs('toy:pairs');
    expect(set.source).toBe('toy:pairs');
    expect(set.pairs).toEqual(PAIRS);
    expect(datasetProviderFor('toy:pairs')?.prefix).toBe('toy:');
    expect(() => namedDatasetLines('toy:nope')).toThrow(/no toy dataset toy:nope/);
  });

  it('serve a behaviour to parseBehavior and score with it', async () => {
    const spec = parseBehavior('toy:warm');
    expect(spec.kind).toBe('text');
    const scores = await scoreContinuations(spec, null as unknown as HookedTransformer, [{ prompt: [], generated: [], text: 'so warm' }, { prompt: [], generated: [], text: 'chilly' }]);
    expect(scores).toEqual([{ score: 1, success: true }, { score: 0, success: false }]);
    expect(() => parseBehavior('nobody:x')).toThrow(/expected lexicon:FILE, probe:DIR, .*toy:warm/);
  });

  it('serve token labelers to the SAE for captures of their datasets only', () => {
    const labelers = labelersFor('toy:corpus');
    expect(Object.keys(labelers ?? {})).toEqual(['warmth']);
    expect(labelers?.warmth.label(['<bos>', 'warm'])).toEqual([[], [0]]);
    expect(labelersFor('/data/web.txt')).toBeNull();
  });
});
