/**
 * TinyWorld: a generated story world whose latent attributes are known at every token, and the
 * small Llama model trained on it (./model). This is the library surface the CLI and the
 * techniques use: stories, exact probabilities, labels, the scorer and the datasets.
 */

export { MOODS, SPECIES, PLACES, WEATHERS, FOODS, ALL_NAMES } from './lexicon.js';
export type { Mood, Species, Place, Weather, Food, Gender, Name, CountObject } from './lexicon.js';
export type { TokenLabels, StoryOptions } from './grammar.js';
export type { Choice } from './process.js';
export {
  BOS, EOS, PAD, UNK, generateStory, parseWords, isGrammatical, nextWordDistributions, textToWords, wordsToText, storyWords,
} from './story.js';
export type { Story } from './story.js';
export { VOCAB, BOS_ID, EOS_ID, PAD_ID, UNK_ID, wordsToIds, idsToWords, tokenizerJson, tokenizerConfigJson } from './tokenizer.js';
export { scoreText, labelText, isStoryText } from './scorer.js';
export type { TextScore } from './scorer.js';
export { tinyworldDataset, tinyworldRecords, TINYWORLD_DATASETS, TINYWORLD_PREFIX } from './datasets.js';
export type { ProbeRecord, PairRecord, TextRecord, DatasetRecord } from './datasets.js';

import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed TinyWorld model folder (Hugging Face layout), the embedded default for `interp demo`. */
export const TINYWORLD_MODEL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'model');
