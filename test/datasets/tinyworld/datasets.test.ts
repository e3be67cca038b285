import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import {
  MOODS, TINYWORLD_DATASETS, TINYWORLD_MODEL_DIR, idsToWords, labelText, scoreText, textToWords, tinyworldDataset, tinyworldRecords,
} from '../../../datasets/tinyworld/index.js';
import type { PairRecord, ProbeRecord, TextRecord } from '../../../datasets/tinyworld/index.js';
import { UsageError } from '../../../src/errors.js';

const tok = new Tokenizer(
  JSON.parse(fs.readFileSync(path.join(TINYWORLD_MODEL_DIR, 'tokenizer.json'), 'utf8')),
  JSON.parse(fs.readFileSync(path.join(TINYWORLD_MODEL_DIR, 'tokenizer_config.json'), 'utf8')),
);

describe('tinyworldDataset', () => {
  it('resolves every documented name, with or without the tinyworld: prefix, deterministically', () => {
    for (const name of Object.keys(TINYWORLD_DATASETS)) {
      const a = tinyworldDataset(`tinyworld:${name}`, { count: 40 });
      expect(a.length).toBe(40);
      expect(tinyworldDataset(name, { count: 40 })).toEqual(a);
      for (const line of a) expect(() => JSON.parse(line)).not.toThrow();
    }
  });

  it('rejects an unknown name with a UsageError that lists the known ones', () => {
    expect(() => tinyworldDataset('tinyworld:moood')).toThrow(UsageError);
    expect(() => tinyworldDataset('tinyworld:moood')).toThrow(/tinyworld:mood, tinyworld:species/);
    expect(() => tinyworldDataset('toString')).toThrow(UsageError);
    expect(() => tinyworldDataset('mood', { count: 0 })).toThrow(UsageError);
  });
});

describe('probe sets', () => {
  for (const name of ['mood', 'species', 'place', 'cheese'] as const) {
    it(`${name}: pos counts the BOS and marks the last token, whose generator label is the label`, () => {
      const records = tinyworldRecords(name, { count: 200 }) as ProbeRecord[];
      for (const r of records) {
        const ids = tok.encode(r.text, { add_special_tokens: false }).ids;
        expect(r.pos).toBe(ids.length); // BOS at 0, so the last of ids.length text tokens sits at ids.length
        expect(idsToWords(ids)[r.pos - 1]).toBe(r.token);
        const labels = labelText(r.text)!.labels[r.pos - 1];
        const expected = name === 'cheese' ? labels.food === 'cheese' : labels[name];
        expect(r.label).toBe(expected);
      }
    });
  }

  it('balances the classes', () => {
    const records = tinyworldRecords('mood', { count: 400 }) as ProbeRecord[];
    for (const m of MOODS) expect(records.filter((r) => r.label === m).length).toBe(100);
    const cheese = tinyworldRecords('cheese', { count: 100 }) as ProbeRecord[];
    expect(cheese.filter((r) => r.label === true).length).toBe(50);
  });
});

describe('contrastive pairs', () => {
  it('happy vs sad: token-aligned stories that differ only in mood words', () => {
    for (const p of tinyworldRecords('pairs-happy-sad', { count: 100 }) as PairRecord[]) {
      const a = textToWords(p.positive);
      const b = textToWords(p.negative);
      expect(a.length).toBe(b.length);
      const diff = a.flatMap((w, i) => (w === b[i] ? [] : [[w, b[i]]]));
      expect(diff.length).toBeGreaterThan(0);
      for (const [x, y] of diff) {
        expect(scoreText(x).mood).toBe('happy');
        expect(scoreText(y).mood).toBe('sad');
      }
    }
  });

  it('cat vs dog: differ only in species words and species sounds', () => {
    for (const p of tinyworldRecords('pairs-cat-dog', { count: 100 }) as PairRecord[]) {
      const a = textToWords(p.positive);
      const b = textToWords(p.negative);
      a.forEach((w, i) => {
        if (w !== b[i]) {
          expect(scoreText(w).species).toBe('cat');
          expect(scoreText(b[i]).species).toBe('dog');
        }
      });
    }
  });
});

describe('neutral text and corpus', () => {
  it('neutral lines are grammatical story openings with no mood word', () => {
    for (const r of tinyworldRecords('neutral', { count: 200 }) as TextRecord[]) {
      expect(labelText(r.text)).not.toBeNull();
      expect(scoreText(r.text).mood).toBeNull();
      expect(r.text.endsWith('.')).toBe(true);
    }
  });

  it('corpus lines are complete stories', () => {
    for (const r of tinyworldRecords('corpus', { count: 100 }) as TextRecord[]) expect(scoreText(r.text).grammatical).toBe(true);
  });
});
