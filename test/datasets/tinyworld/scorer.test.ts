import { describe, expect, it } from 'vitest';
import { generateStory, isStoryText, labelText, scoreText } from '../../../datasets/tinyworld/index.js';
import { SEEDS, storySeed } from '../../../datasets/tinyworld/seeds.js';

const stories = Array.from({ length: 1000 }, (_, i) => generateStory(storySeed(SEEDS.tests, 80_000 + i)));
const last = <T>(xs: readonly T[]): T => xs[xs.length - 1];

describe('scoreText', () => {
  it('recovers the mood of every story that keeps one mood', () => {
    const steady = stories.filter((s) => last(s.labels).moodChanges === 0);
    expect(steady.length).toBeGreaterThan(400);
    for (const s of steady) expect(scoreText(s.text).mood).toBe(last(s.labels).mood);
  });

  it('recovers the final mood of every story, changed or not', () => {
    for (const s of stories) expect(scoreText(s.text).finalMood).toBe(last(s.labels).mood);
  });

  it('recovers species, place, weather, food and liking', () => {
    for (const s of stories) {
      const score = scoreText(s.text);
      const l = last(s.labels);
      expect(score.species).toBe(l.species);
      expect(score.place).toBe(l.place);
      expect(score.weather).toBe(l.weather);
      expect(score.food).toBe(l.food);
      expect(score.likesFood).toBe(l.likesFood);
      expect(score.grammatical).toBe(true);
    }
  });

  it('reads text outside the grammar (a steered continuation) by its words', () => {
    const score = scoreText('The cat smiled and smiled, then cried. It laughed happily.');
    expect(score.moodCounts).toEqual({ happy: 4, sad: 1, angry: 0, scared: 0 });
    expect(score.mood).toBe('happy');
    expect(score.species).toBe('cat');
    expect(score.grammatical).toBe(false);
    expect(scoreText('').mood).toBeNull();
  });
});

describe('labelText', () => {
  it('gives the generator labels for a story and for any prefix', () => {
    for (const s of stories.slice(0, 200)) {
      const full = labelText(s.text)!;
      expect(full.labels).toEqual(s.labels.slice(0, -1));
      const prefix = labelText(s.text.split('.').slice(0, 3).join('.') + '.')!;
      expect(prefix.labels).toEqual(s.labels.slice(0, prefix.words.length));
    }
  });

  it('returns null for text the grammar cannot produce', () => {
    expect(labelText('Once upon a time, there was a zebra')).toBeNull();
    expect(isStoryText('Once upon a time, there was a cat')).toBe(false);
  });
});
