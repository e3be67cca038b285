/**
 * TinyWorld material for steering: sad story openings to steer toward happy, built from the
 * generator's own contrastive pairs. A prompt is the *negative* (sad) story of a pair cut after
 * the sentence that holds its first mood word ("… It was a snowy day. She was sad."), so the
 * unsteered model continues in a sad mood (pair stories keep one mood throughout) and any happy
 * continuation is the steering's doing. Prompts come from pairs after the ones a vector is read
 * from (`from`), so the vector never saw them.
 */
import { labelText, sadOpenings as tinyworldSadOpenings, textToWords, wordsToText } from '../datasets/tinyworld/index.js';
import { assert } from '../src/errors.js';

export interface OpeningOptions {
  /** Index of the first pair used (pairs before it are left for reading vectors). Default 400. */
  readonly from?: number;
  /** Number of openings. Default 100. */
  readonly count?: number;
}

/** Sad openings as {text} records (JSONL-ready), each ending with its first mood sentence (the tinyworld:sad-openings dataset). */
export function sadOpenings(options: OpeningOptions = {}): { text: string }[] {
  return tinyworldSadOpenings(options.count ?? 100, options.from ?? 400).map((r) => ({ text: r.text }));
}

/** The text up to and including the "." that ends the sentence of the first mood word. */
export function cutAfterFirstMood(story: string): string {
  const labelled = labelText(story);
  const words = labelled?.words ?? textToWords(story);
  const first = labelled ? labelled.labels.findIndex((l) => l.mood !== null) : -1;
  assert(first >= 0, () => `TinyWorld pair story has no mood word: ${story}`);
  const end = words.indexOf('.', first);
  return wordsToText(words.slice(0, end + 1));
}
