import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ModelFormatError, UsageError } from '../../src/errors.js';
import { ContinuationDecoder, continuationPieces, continuationText, createTokenizer, loadTokenizer } from '../../src/model/tokenizer.js';
import type { Tokenizer } from '../../src/model/types.js';
import { fixture } from '../helpers/fixtures.js';
import { byteLevelBpeJson, metaspaceBpeJson, tempDir, wordLevelJson, writeFile } from './helpers.js';

/** Pushes `generated` in chunks of the given sizes (cycled) and joins what the decoder hands out. */
function decodeInChunks(tok: Tokenizer, prompt: readonly number[], generated: readonly number[], sizes: readonly number[]): string {
  const decoder = new ContinuationDecoder(tok, prompt);
  let out = '';
  for (let i = 0, k = 0; i < generated.length; k++) {
    const n = sizes[k % sizes.length];
    out += decoder.push(generated.slice(i, i + n));
    i += n;
  }
  return out + decoder.flush();
}

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
    expect(() => tok.tokenDisplay(6)).toThrow(/cannot decode id 6/);
  });

  it('shows a word with the space that joins it to the text (no decoder: words joined by spaces)', () => {
    expect([1, 2, 3].map((id) => tok.tokenDisplay(id))).toEqual(['<s>', ' the', ' cat']);
    expect(continuationText(tok, [1, 2], [3, 4])).toBe(' cat sat');
    expect(tok.isSpecial(1)).toBe(true);
    expect(tok.isSpecial(2)).toBe(false);
  });
});

describe.each(['sequence', 'metaspace'] as const)('SentencePiece-style BPE tokenizer (Metaspace, %s decoder)', (form) => {
  const tok = createTokenizer(metaspaceBpeJson(form), {}, `metaspace-${form}/tokenizer.json`);
  const BOS = 1;
  const EOS = 2;
  const prompt = [BOS, ...tok.encode('hello world,')];
  const generated = tok.encode(' he found the world'); // the space is the continuation's: "▁he"

  it('shows the word-start marker of a token as a space', () => {
    expect(generated.map((id) => tok.idToToken(id))).toEqual(['▁he', '▁found', '▁the', '▁world']);
    expect(generated.map((id) => tok.tokenDisplay(id))).toEqual([' he', ' found', ' the', ' world']);
    expect(tok.tokenDisplay(tok.encode('hello,').at(-1) as number)).toBe(',');
    expect([BOS, EOS].map((id) => tok.tokenDisplay(id))).toEqual(['<s>', '</s>']);
  });

  it('decodes a continuation after its prompt, keeping its leading space (alone, the decoder strips it)', () => {
    expect(tok.decode(generated, true)).toBe('he found the world'); // the bug: a continuation is not the start of a text
    expect(continuationText(tok, prompt, generated)).toBe(' he found the world');
    expect(continuationText(tok, prompt.slice(1), generated)).toBe(' he found the world'); // no BOS in the prompt
    expect(continuationText(tok, [BOS], generated)).toBe(' he found the world'); // after BOS alone, as Python's decode keeps it
    expect(continuationText(tok, [], generated)).toBe('he found the world'); // with no prompt it starts a text
    expect(`hello world,${continuationText(tok, prompt, generated)}`).toBe(tok.decode([...prompt, ...generated], true));
  });

  it('leaves generated special tokens out of the text, but shows them in the pieces', () => {
    expect(continuationText(tok, prompt, [...generated, EOS])).toBe(' he found the world');
    expect(continuationPieces(tok, prompt, [...generated, EOS])).toEqual([' he', ' found', ' the', ' world', '</s>']);
  });

  it('hands out the same text however the ids are chunked', () => {
    const ids = tok.encode(' he found it’s hello\nworld ✓ ok');
    const whole = continuationText(tok, prompt, ids);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }), (sizes) => {
        expect(decodeInChunks(tok, prompt, ids, sizes)).toBe(whole);
      }),
      { numRuns: 60 },
    );
    expect(continuationPieces(tok, prompt, ids).join('')).toBe(whole);
  });
});

describe('SentencePiece byte fallback (Llama 2 decoder)', () => {
  const tok = createTokenizer(metaspaceBpeJson('sequence'), {}, 'metaspace/tokenizer.json');
  const ids = tok.encode('it’s ok\n'); // ’ is not in the vocabulary: three byte tokens
  const tokens = ids.map((id) => tok.idToToken(id));
  const first = tokens.indexOf('<0xE2>');

  it('shows a byte token as its character, or by its own spelling when it is part of one', () => {
    expect(tokens.slice(first, first + 3)).toEqual(['<0xE2>', '<0x80>', '<0x99>']);
    expect(ids.map((id) => tok.tokenDisplay(id))).toEqual([' it', '<0xE2>', '<0x80>', '<0x99>', 's', ' ok', '\n']);
  });

  it('a prompt that ends inside a character: the continuation starts with the whole character', () => {
    const prompt = [1, ...ids.slice(0, first + 1)]; // ends with <0xE2>
    expect(tok.decode(prompt)).toBe('<s> it\uFFFD');
    expect(continuationText(tok, prompt, ids.slice(first + 1))).toBe('’s ok\n');
  });

  it('pieces: the bytes before the last show "", the last one the whole character', () => {
    expect(continuationPieces(tok, [1], ids)).toEqual([' it', '', '', '’', 's', ' ok', '\n']);
    expect(continuationPieces(tok, [1], ids.slice(0, first + 1))).toEqual([' it', '\uFFFD']); // ended inside the character
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

  it('shows "Ġ" as a space, and the bytes of a part of a character', () => {
    const ids = tok.encode('hello the é 🙂<|endoftext|>');
    expect(ids.map((id) => tok.idToToken(id))).toEqual(['hello', 'Ġthe', 'Ġ', 'Ã', '©', 'Ġ', 'ð', 'Ł', 'Ļ', 'Ĥ', '<|endoftext|>']);
    expect(ids.map((id) => tok.tokenDisplay(id))).toEqual(['hello', ' the', ' ', '<0xC3>', '<0xA9>', ' ', '<0xF0>', '<0x9F>', '<0x99>', '<0x82>', '<|endoftext|>']);
    expect(tok.isSpecial(eot)).toBe(true);
    expect(tok.isSpecial(65)).toBe(false);
  });

  it('decodes a continuation after its prompt; the pieces join to it', () => {
    const prompt = tok.encode('hello');
    const generated = tok.encode(' the é 🙂 the');
    expect(continuationText(tok, prompt, generated)).toBe(' the é 🙂 the');
    expect(continuationPieces(tok, prompt, generated)).toEqual([' the', ' ', '', 'é', ' ', '', '', '', '🙂', ' the']);
    expect(continuationText(tok, [...prompt, ...generated.slice(0, 6)], generated.slice(6))).toBe('🙂 the'); // prompt ends inside 🙂
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

const stories = fixture('stories260K-hf');

describe.skipIf(stories === null)('stories260K-hf: its real SentencePiece tokenizer', () => {
  // The suite body runs even when skipped, so nothing is read from the fixture without it.
  let tok: Tokenizer;
  let greedy: { prompt_ids: number[]; generated_ids: number[]; text: string };
  let expected: string;
  beforeAll(() => {
    tok = loadTokenizer(stories as string) as Tokenizer;
    greedy = JSON.parse(readFileSync(path.join(stories as string, 'greedy.json'), 'utf8')) as typeof greedy;
    // llama2.c's run.c prints a newline after the last token; the 256 ids end with "." (ids and text agree otherwise).
    expected = greedy.text.replace(/\n$/, '');
  });

  it('decodes greedy.json\'s ids, after its BOS prompt, to its text, in one go and in chunks', () => {
    expect(greedy.prompt_ids).toEqual([1]);
    expect(tok.decode(greedy.generated_ids, true).startsWith('Once upon')).toBe(true); // alone: the space is stripped
    expect(continuationText(tok, greedy.prompt_ids, greedy.generated_ids)).toBe(expected);
    for (const sizes of [[1], [3], [7], [64], [256], [5, 1, 17, 2]]) expect(decodeInChunks(tok, greedy.prompt_ids, greedy.generated_ids, sizes)).toBe(expected);
    expect(continuationPieces(tok, greedy.prompt_ids, greedy.generated_ids).join('')).toBe(expected);
  });

  it('shows its tokens with their word-start spaces and byte tokens as characters', () => {
    const ids = tok.encode('he found\n');
    expect(ids.map((id) => tok.idToToken(id))).toEqual(['▁he', '▁f', 'ou', 'nd', '<0x0A>']);
    expect(ids.map((id) => tok.tokenDisplay(id))).toEqual([' he', ' f', 'ou', 'nd', '\n']);
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
