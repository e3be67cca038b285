import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ModelFormatError, UsageError } from '../../src/errors.js';
import { createTokenizer, loadTokenizer } from '../../src/model/tokenizer.js';
import { byteLevelBpeJson, tempDir, wordLevelJson, writeFile } from './helpers.js';

describe('WordLevel tokenizer', () => {
  const tok = createTokenizer(wordLevelJson(), undefined, 'wordlevel/tokenizer.json');

  it('encodes without special tokens (no BOS), even with a TemplateProcessing post-processor', () => {
    expect(tok.encode('The cat sat')).toEqual([2, 3, 4]);
  });

  it('maps unknown words to the unk_token of the model', () => {
    expect(tok.encode('the dog')).toEqual([2, 0]);
  });

  it('decodes, skipping special tokens on request; idToToken and vocabSize', () => {
    expect(tok.decode([1, 2, 3, 5], true)).toBe('the cat mat');
    expect(tok.decode([1, 2])).toBe('<s> the');
    expect(tok.decode([])).toBe('');
    expect(tok.idToToken(3)).toBe('cat');
    expect(tok.idToToken(99)).toBeUndefined();
    expect(tok.idToToken(-1)).toBeUndefined();
    expect(tok.vocabSize).toBe(6);
  });

  it('refuses ids outside the vocabulary when decoding', () => {
    expect(() => tok.decode([2, 6])).toThrow(UsageError);
    expect(() => tok.decode([2, 6])).toThrow(/cannot decode id 6; expected an integer in \[0, 6\)/);
  });
});

describe('byte-level BPE tokenizer (GPT-2 format)', () => {
  const { json, eot } = byteLevelBpeJson();
  const tok = createTokenizer(json, {}, 'bpe/tokenizer.json');

  it('applies merges and byte tokens', () => {
    const ids = tok.encode('hello the');
    expect(ids.map((id) => tok.idToToken(id))).toEqual(['hello', 'Ġthe']);
    expect(tok.encode('A')).toEqual([65]);
    expect(tok.vocabSize).toBe(eot + 1);
  });

  it('recognises special tokens written in the text, and can skip them when decoding', () => {
    const ids = tok.encode('hi<|endoftext|>');
    expect(ids.at(-1)).toBe(eot);
    expect(tok.decode(ids)).toBe('hi<|endoftext|>');
    expect(tok.decode(ids, true)).toBe('hi');
  });

  it('round-trips arbitrary text, including non-ASCII and emoji', () => {
    for (const text of ['hello the world', ' leading space', 'é ü ß', 'a 🙂 b', 'tab\tnew\nline', "it's  two  spaces ."]) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        expect(tok.decode(tok.encode(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('loadTokenizer', () => {
  it('returns null when the directory has no tokenizer.json', () => {
    expect(loadTokenizer(tempDir())).toBeNull();
  });

  it('loads tokenizer.json with tokenizer_config.json', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'tokenizer.json', JSON.stringify(byteLevelBpeJson().json));
    writeFile(dir, 'tokenizer_config.json', JSON.stringify({ clean_up_tokenization_spaces: true, model_max_length: 1024 }));
    const tok = loadTokenizer(dir)!;
    expect(tok.source).toBe(file);
    expect(tok.decode(tok.encode('a .'))).toBe('a.'); // clean-up enabled by the config
  });

  it.each([
    ['not JSON', '{"model": {"type": "BPE"', /not valid JSON/],
    ['without a model', '{"version": "1.0"}', /expected a tokenizer.json object with a "model" entry/],
    ['with an unknown model type', JSON.stringify({ model: { type: 'Mystery' } }), /cannot build this tokenizer/],
  ])('a tokenizer.json %s → ModelFormatError naming the file', (_, text, pattern) => {
    const dir = tempDir();
    const file = writeFile(dir, 'tokenizer.json', text);
    expect(() => loadTokenizer(dir)).toThrow(ModelFormatError);
    expect(() => loadTokenizer(dir)).toThrow(pattern);
    expect(() => loadTokenizer(dir)).toThrow(file);
  });

  it('a corrupt tokenizer_config.json is named too', () => {
    const dir = tempDir();
    writeFile(dir, 'tokenizer.json', JSON.stringify(wordLevelJson()));
    const config = writeFile(dir, 'tokenizer_config.json', '[1, 2]');
    expect(() => loadTokenizer(dir)).toThrow(`${config}: expected a JSON object`);
  });
});
