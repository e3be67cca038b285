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
export { scoreText, labelText, isStoryText, wordExpresses } from './scorer.js';
export type { TextScore, ExpressedValues } from './scorer.js';
export { tinyworldDataset, tinyworldRecords, sadOpenings, TINYWORLD_DATASETS, TINYWORLD_PREFIX } from './datasets.js';
export type { ProbeRecord, PairRecord, TextRecord, DatasetRecord } from './datasets.js';

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The committed TinyWorld model folder (Hugging Face layout), the embedded default for `interp
 * demo`. Resolved from the package root, so it is found both from the sources and from the
 * compiled dist/datasets/tinyworld (the model files are not copied into dist/).
 */
export const TINYWORLD_MODEL_DIR = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'datasets', 'tinyworld', 'model');
    if (existsSync(path.join(candidate, 'config.json'))) return candidate;
  }
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'model');
})();
