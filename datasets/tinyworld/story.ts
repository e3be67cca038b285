/**
 * Stories as data: sample one from a seed, parse words or text back through the same process,
 * and read exact probabilities and per-token labels. See process.ts for why parsing and the exact
 * next-token distribution come from the generator's own code.
 */

import { emptyLabels, story } from './grammar.js';
import type { StoryOptions, TokenLabels } from './grammar.js';
import { makeRng, runProcess, sampleChoice } from './process.js';
import type { Choice, Run } from './process.js';

export const BOS = '<bos>';
export const EOS = '<eos>';
export const PAD = '<pad>';
export const UNK = '<unk>';

/** One generated story. `words` ends with "<eos>"; `text` is the readable form without it. */
export interface Story {
  readonly seed: number;
  readonly words: readonly string[];
  readonly text: string;
  /** Labels after each word of `words` (same length). */
  readonly labels: readonly TokenLabels[];
}

/** Samples the story of `seed`; `options` constrains it (contrastive pairs). */
export function generateStory(seed: number, options: StoryOptions = {}, withLabels = true): Story {
  const rng = makeRng(seed);
  const s = emptyLabels();
  const run = runProcess(story(s, options), (choice) => sampleChoice(choice, rng), () => ({ ...s }), { recordLabels: withLabels });
  return { seed, words: run.words, text: wordsToText(run.words), labels: run.labels };
}

/**
 * Runs the grammar over `words` (a full story ends with "<eos>"; a prefix may stop anywhere),
 * recording exact log-probabilities, and optionally each Choice and the labels.
 */
export function parseWords(words: readonly string[], record: { choices?: boolean; labels?: boolean } = {}): Run<TokenLabels> {
  const s = emptyLabels();
  return runProcess(story(s), (_choice, i) => words[i], () => ({ ...s }), { recordChoices: record.choices, recordLabels: record.labels });
}

/** True when `words` is exactly one complete grammatical story ending in "<eos>". */
export function isGrammatical(words: readonly string[]): boolean {
  const run = parseWords(words);
  return run.complete && run.words.length === words.length;
}

/**
 * The exact next-word distribution after each prefix of `words`: element i is p_true(· | words[0..i)),
 * so element i assigns words[i] its probability. When `words` is an unfinished grammatical prefix
 * (a prompt), one more element gives the distribution of the word after it. Stops at the first
 * ungrammatical word.
 */
export function nextWordDistributions(words: readonly string[]): Choice[] {
  const run = parseWords(words, { choices: true });
  return run.pending ? [...run.choices, run.pending] : run.choices;
}

/** Splits text into words as the tokenizer's Whitespace pre-tokenizer does (\w+ or a punctuation run). */
export function textToWords(text: string): string[] {
  return text.match(/\w+|[^\w\s]+/g) ?? [];
}

/**
 * The readable text of words: joined by spaces with the spaces before punctuation removed, exactly
 * as the tokenizer's decode (clean_up_tokenization_spaces) writes it, so text → ids → text is exact.
 * Special tokens are dropped.
 */
export function wordsToText(words: readonly string[]): string {
  return words
    .filter((w) => w !== EOS && w !== BOS && w !== PAD)
    .join(' ')
    .replace(/ \./g, '.')
    .replace(/ \?/g, '?')
    .replace(/ !/g, '!')
    .replace(/ ,/g, ',');
}

/** Words of a story text plus the closing "<eos>", ready for parseWords. */
export function storyWords(text: string): string[] {
  return [...textToWords(text), EOS];
}
