import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import {
  BOS_ID, EOS, EOS_ID, TINYWORLD_MODEL_DIR, VOCAB, generateStory, idsToWords, tokenizerConfigJson, tokenizerJson, wordsToIds,
} from '../../../datasets/tinyworld/index.js';
import { MAX_POSITIONS } from '../../../datasets/tinyworld/model-shape.js';
import { SEEDS, storySeed } from '../../../datasets/tinyworld/seeds.js';

const readJson = (name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(TINYWORLD_MODEL_DIR, name), 'utf8'));
const committed = readJson('tokenizer.json');
const committedConfig = readJson('tokenizer_config.json');
const stories = Array.from({ length: 3000 }, (_, i) => generateStory(storySeed(SEEDS.tests, 50_000 + i), {}, false));

describe('TinyWorld vocabulary', () => {
  it('holds every word the grammar writes, and every word in it is written', () => {
    const seen = new Set(stories.flatMap((s) => s.words));
    expect([...seen].filter((w) => !VOCAB.includes(w))).toEqual([]);
    expect(VOCAB.slice(4).filter((w) => !seen.has(w) && w !== EOS)).toEqual([]);
    expect(new Set(VOCAB).size).toBe(VOCAB.length);
  });

  it('matches the committed tokenizer files (the trained model depends on these ids)', () => {
    expect(committed).toEqual(tokenizerJson());
    expect(committedConfig).toEqual(tokenizerConfigJson(MAX_POSITIONS));
    const config = fs.existsSync(path.join(TINYWORLD_MODEL_DIR, 'config.json')) ? readJson('config.json') : null;
    if (config) {
      expect(config.vocab_size).toBe(VOCAB.length);
      expect(config.bos_token_id).toBe(BOS_ID);
      expect(config.eos_token_id).toBe(EOS_ID);
    }
  });
});

describe('tokenizer.json through @huggingface/tokenizers', () => {
  const tok = new Tokenizer(committed, committedConfig);

  it('encodes story text to exactly the generator ids, with no special tokens added', () => {
    for (const s of stories.slice(0, 500)) {
      const ids = tok.encode(s.text, { add_special_tokens: false }).ids;
      expect(ids).toEqual(wordsToIds(s.words.slice(0, -1)));
    }
  });

  it('decodes ids back to the same text, and round-trips text → ids → text → ids', () => {
    for (const s of stories.slice(0, 500)) {
      const ids = wordsToIds(s.words.slice(0, -1));
      const text = tok.decode(ids);
      expect(text).toBe(s.text);
      expect(tok.encode(text, { add_special_tokens: false }).ids).toEqual(ids);
    }
  });

  it('knows the special tokens by id, and maps unknown words to <unk>', () => {
    expect(tok.token_to_id('<bos>')).toBe(BOS_ID);
    expect(tok.token_to_id('<eos>')).toBe(EOS_ID);
    expect(tok.decode([BOS_ID, ...wordsToIds(['Tom', 'smiled', '.']), EOS_ID], { skip_special_tokens: true })).toBe('Tom smiled.');
    expect(idsToWords(tok.encode('Tom ate a zebra', { add_special_tokens: false }).ids)).toEqual(['Tom', 'ate', 'a', '<unk>']);
  });
});
