import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EOS, MOODS, generateStory, isGrammatical, nextWordDistributions, parseWords, storyWords, textToWords,
} from '../../../datasets/tinyworld/index.js';
import type { Mood, Story } from '../../../datasets/tinyworld/index.js';
import { MOOD_WORDS, PRONOUNS, SPECIES } from '../../../datasets/tinyworld/lexicon.js';
import { SEEDS, storySeed } from '../../../datasets/tinyworld/seeds.js';
import { MAX_POSITIONS } from '../../../datasets/tinyworld/model-shape.js';

const seeds = Array.from({ length: 400 }, (_, i) => storySeed(SEEDS.tests, i));
const sample: Story[] = seeds.map((s) => generateStory(s));
const seedArb = fc.integer({ min: 0, max: 2 ** 32 - 1 });

describe('generator determinism', () => {
  it('gives the same story, words and labels for the same seed', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      expect(generateStory(seed)).toEqual(generateStory(seed));
    }), { numRuns: 200 });
  });

  it('gives different stories for different seeds (nearly always)', () => {
    expect(new Set(sample.map((s) => s.text)).size).toBeGreaterThan(sample.length * 0.99);
  });

  it('writes short stories (40–150 tokens but for a rare long one, always within the context) ending in <eos>', () => {
    expect(sample.filter((s) => s.words.length > 150).length).toBeLessThanOrEqual(sample.length / 100);
    for (const s of sample) {
      expect(s.words.length).toBeGreaterThanOrEqual(40);
      expect(s.words.length).toBeLessThan(MAX_POSITIONS); // plus the BOS
      expect(s.words[s.words.length - 1]).toBe(EOS);
      expect(s.words.indexOf(EOS)).toBe(s.words.length - 1);
    }
  });
});

describe('parser', () => {
  it('accepts every generated story, as words and as text', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      const s = generateStory(seed, {}, false);
      expect(isGrammatical(s.words)).toBe(true);
      expect(isGrammatical(storyWords(s.text))).toBe(true);
      expect(storyWords(s.text)).toEqual(s.words);
    }), { numRuns: 300 });
  });

  it('rejects a truncated story, a story with a swapped word, and a story that goes on after <eos>', () => {
    const s = sample[0].words;
    expect(isGrammatical(s.slice(0, -1))).toBe(false);
    expect(isGrammatical([...s, 'The'])).toBe(false);
    const species = s.findIndex((w) => (SPECIES as readonly string[]).includes(w));
    const swapped = [...s];
    swapped[species + 2] = 'Zebra'; // the name after "named"
    expect(isGrammatical(swapped)).toBe(false);
    expect(parseWords(swapped).rejectedAt).toBe(species + 2);
  });

  it('rejects a name change and a pronoun of the wrong gender', () => {
    const s = sample.find((x) => x.words.includes('He'))!;
    const wrong = s.words.map((w) => (w === 'He' ? 'She' : w));
    expect(isGrammatical(wrong)).toBe(false);
  });
});

describe('exact next-token distribution', () => {
  it('sums to 1 at every position and gives the generated word positive probability', () => {
    for (const s of sample.slice(0, 100)) {
      const choices = nextWordDistributions(s.words);
      expect(choices.length).toBe(s.words.length);
      choices.forEach((c, i) => {
        expect(c.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        expect(new Set(c.words).size).toBe(c.words.length);
        const k = c.words.indexOf(s.words[i]);
        expect(k).toBeGreaterThanOrEqual(0);
        expect(c.probs[k]).toBeGreaterThan(0);
      });
    }
  });

  it('agrees with sampling frequencies at the first branching word', () => {
    // After "Once upon a time , there was": "a" or "an" (owl with no size word): p(an) = 0.5 / 10.
    const c = nextWordDistributions(textToWords('Once upon a time, there was'))[7];
    const pAn = c.probs[c.words.indexOf('an')];
    expect(pAn).toBeCloseTo(0.05, 12);
    const n = 8_000;
    let an = 0;
    for (let i = 0; i < n; i++) if (generateStory(storySeed(SEEDS.tests, 10_000 + i), {}, false).words[7] === 'an') an++;
    expect(Math.abs(an / n - pAn)).toBeLessThan(4 * Math.sqrt((pAn * (1 - pAn)) / n));
  });

  it('gives log-probabilities that sum to a finite story log-likelihood equal to the product of choices', () => {
    const s = sample[1];
    const run = parseWords(s.words, { choices: true });
    const direct = run.choices.map((c, i) => Math.log(c.probs[c.words.indexOf(s.words[i])]));
    expect(run.logProbs).toEqual(direct);
    expect(Number.isFinite(run.logProbs.reduce((a, b) => a + b, 0))).toBe(true);
  });
});

const moodOfWord = new Map<string, Mood>(MOODS.flatMap((m) => [...MOOD_WORDS[m].adjectives, ...MOOD_WORDS[m].verbs, MOOD_WORDS[m].adverb].map((w) => [w, m] as const)));

describe('per-token labels', () => {
  it('has one label record per word, and story-level attributes never change once revealed', () => {
    for (const s of sample) {
      expect(s.labels.length).toBe(s.words.length);
      for (const key of ['species', 'name', 'gender', 'place', 'weather', 'food'] as const) {
        const first = s.labels.findIndex((l) => l[key] !== null);
        if (first < 0) continue;
        for (let t = first; t < s.words.length; t++) expect(s.labels[t][key]).toBe(s.labels[first][key]);
        for (let t = 0; t < first; t++) expect(s.labels[t][key]).toBeNull();
      }
    }
  });

  it('reveals each attribute at the word that names it', () => {
    for (const s of sample) {
      const at = (key: 'species' | 'name' | 'place' | 'weather' | 'food'): number => s.labels.findIndex((l) => l[key] !== null);
      for (const key of ['species', 'name', 'place', 'weather', 'food'] as const) {
        if (at(key) >= 0) expect(s.words[at(key)]).toBe(s.labels[at(key)][key]);
      }
    }
  });

  it('labels every mood word with its own mood, and uses the pronouns of the name', () => {
    for (const s of sample) {
      s.words.forEach((w, t) => {
        const m = moodOfWord.get(w);
        if (m && !(w === 'laughed' && s.words[t + 1] === 'at')) expect(s.labels[t].mood).toBe(m);
        const g = s.labels[t].gender;
        if (g) expect([PRONOUNS[g === 'male' ? 'female' : 'male'].Subj, PRONOUNS[g === 'male' ? 'female' : 'male'].subj]).not.toContain(w);
      });
    }
  });

  it('marks negation exactly from "did" to the word before the "."', () => {
    for (const s of sample) {
      s.words.forEach((w, t) => {
        const inside = s.words.slice(0, t + 1).lastIndexOf('did') > s.words.slice(0, t + 1).lastIndexOf('.');
        expect(s.labels[t].negated).toBe(inside);
        if (w === 'not') expect(s.labels[t].negated).toBe(true);
      });
      if (s.words.includes('liked')) expect(s.labels[s.words.length - 1].likesFood).toBe(true);
      if (s.words.includes('like')) expect(s.labels[s.words.length - 1].likesFood).toBe(false);
    }
  });

  it('keeps the count equal to the number said in "Now … had N"', () => {
    const numbers = ['one', 'two', 'three', 'four', 'five', 'six'];
    for (const s of sample) {
      const now = s.words.indexOf('Now');
      if (now < 0) continue;
      const n = s.words.findIndex((w, t) => t > now && numbers.includes(w));
      expect(s.labels[n].count).toBe(numbers.indexOf(s.words[n]) + 1);
    }
  });
});
