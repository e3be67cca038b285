/**
 * TinyWorld's word-level tokenizer: the vocabulary (every word the grammar can emit, plus four
 * special tokens) and the Hugging Face tokenizer.json that encodes it, so that the model loads
 * through the same tokenizer path as any real checkpoint.
 *
 * tokenizer.json: a WordLevel model and the Whitespace pre-tokenizer (\w+ or a run of
 * punctuation — the grammar never puts two punctuation marks side by side), no normalizer, no
 * post-processor (whether BOS is prepended is the runtime's TokenizerPolicy) and no decoder, so
 * decode joins words with spaces; clean_up_tokenization_spaces in tokenizer_config.json then
 * removes the space before punctuation, which gives back the generator's text exactly.
 */

import {
  ALL_NAMES, FOODS, MOOD_CAUSES, MOOD_WORDS, MOODS, NUMBER_WORDS, OBJECTS, PLACES, PRONOUNS, SIZE_WORDS,
  SOUNDS, SPECIES, WEATHER_DETAIL, WEATHERS,
} from './lexicon.js';
import { BOS, EOS, PAD, UNK } from './story.js';

/** Special tokens and their ids; BOS = 1 and EOS = 2 as in Llama checkpoints. */
export const SPECIAL_TOKENS = [UNK, BOS, EOS, PAD] as const;
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const PAD_ID = 3;

/** Words the grammar writes literally (grammar.ts), in the order they first appear there. */
const GRAMMAR_WORDS =
  'Once upon a time , there was an named . lived near the One day went to It and had The ' +
  'He She he she his her him Then At So found some liked did not like ate all of it eat felt ' +
  'more Now end home bed';

function splitWords(text: string): string[] {
  return text.split(' ').filter((w) => w !== '' && !w.startsWith('{'));
}

/** Every word, in a fixed order: ids are positions in this list. */
export const VOCAB: readonly string[] = (() => {
  const words: string[] = [];
  const add = (ws: readonly string[]): void => {
    for (const w of ws) if (!words.includes(w)) words.push(w);
  };
  add(SPECIAL_TOKENS);
  add(splitWords(GRAMMAR_WORDS));
  add(SPECIES);
  add(SIZE_WORDS);
  add(ALL_NAMES);
  add(Object.values(PRONOUNS).flatMap((p) => [p.Subj, p.subj, p.poss, p.obj]));
  add(PLACES);
  add(WEATHERS);
  add(Object.values(WEATHER_DETAIL).flatMap(splitWords));
  add(MOODS.flatMap((m) => [...MOOD_WORDS[m].adjectives, ...MOOD_WORDS[m].verbs, MOOD_WORDS[m].adverb]));
  add(MOODS.flatMap((m) => MOOD_CAUSES[m].flatMap(splitWords)));
  add(SPECIES.flatMap((s) => SOUNDS[s]));
  add(FOODS);
  add(NUMBER_WORDS.slice(1)); // counts never reach zero
  add(OBJECTS.flatMap((o) => [o.one, o.many, ...splitWords(o.lost)]));
  return words;
})();

const ID_OF: ReadonlyMap<string, number> = new Map(VOCAB.map((w, i) => [w, i]));

/** Word ids of `words`; unknown words map to <unk>. */
export function wordsToIds(words: readonly string[]): number[] {
  return words.map((w) => ID_OF.get(w) ?? UNK_ID);
}

/** Words of `ids`; ids outside the vocabulary become <unk>. */
export function idsToWords(ids: readonly number[]): string[] {
  return ids.map((id) => VOCAB[id] ?? UNK);
}

/** The tokenizer.json object (Hugging Face tokenizers' serialisation of a WordLevel tokenizer). */
export function tokenizerJson(): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries(VOCAB.map((w, i) => [w, i])), unk_token: UNK },
  };
}

/** The tokenizer_config.json object that goes with it. */
export function tokenizerConfigJson(maxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: BOS,
    eos_token: EOS,
    unk_token: UNK,
    pad_token: PAD,
    clean_up_tokenization_spaces: true,
    model_max_length: maxLength,
  };
}
