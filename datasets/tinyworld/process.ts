/**
 * The probabilistic process behind TinyWorld, written as a coroutine over words.
 *
 * A story is a JavaScript generator that yields a Choice (the words that may come next, with
 * their probabilities) and receives the word that was chosen. All randomness lives in those
 * choices: the process never makes a hidden decision, so its state after a prefix is a function
 * of the prefix alone. Hence the generator's own Choice *is* the exact next-token distribution
 * p_true(word | prefix), with every story-level latent (species, name, mood…) integrated out —
 * a latent only comes into being at the word that reveals it. The same code therefore samples
 * stories, parses them (a word outside the Choice is ungrammatical), scores them exactly, and
 * labels every token.
 */

import { assert } from '../../src/errors.js';
import { mulberry32 } from '../../src/util/random.js';

/** One step of the process: the words that may come next and their probabilities (sum 1). */
export interface Choice {
  readonly words: readonly string[];
  readonly probs: readonly number[];
}

/** A process that yields Choices, receives the chosen word, and finally returns a T. */
export type Process<T> = Generator<Choice, T, string>;

/** Emits fixed words (space-separated), each a Choice with one option. */
export function* say(text: string): Process<void> {
  for (const word of text.split(' ')) {
    const got = yield { words: [word], probs: [1] };
    assert(got === word, () => `say: fed "${got}" where only "${word}" is possible`);
  }
}

/** One alternative of a pick: a phrase of one or more words, its probability, and what it means. */
export interface Alternative<T> {
  readonly words: readonly string[];
  readonly p: number;
  readonly value: T;
}

/**
 * Chooses one of several phrases. Phrases may share leading words ("the cat …", "the others …");
 * at each word the Choice is the marginal over the phrases still consistent with what was read,
 * which is exact because the phrase set must be prefix-free (no phrase is a prefix of another),
 * so the phrase is known by the time its last word is read. Returns that phrase's value.
 */
export function* pick<T>(alternatives: readonly Alternative<T>[]): Process<T> {
  let alive = alternatives.filter((a) => a.p > 0);
  assert(alive.length > 0, () => 'pick: no alternative has positive probability');
  for (let pos = 0; ; pos++) {
    const mass = new Map<string, number>();
    let total = 0;
    for (const a of alive) {
      const w = a.words[pos];
      mass.set(w, (mass.get(w) ?? 0) + a.p);
      total += a.p;
    }
    const words = [...mass.keys()];
    const word = yield { words, probs: words.map((w) => mass.get(w)! / total) };
    alive = alive.filter((a) => a.words[pos] === word);
    assert(alive.length > 0, () => `pick: fed "${word}", which is not among ${words.join(' | ')}`);
    const done = alive.filter((a) => a.words.length === pos + 1);
    if (done.length > 0) {
      assert(alive.length === 1, () => `pick: phrases are not prefix-free at "${done[0].words.join(' ')}"`);
      return done[0].value;
    }
  }
}

/** Uniform alternatives over single words, each mapped to a value. */
export function uniform<T>(items: readonly T[], word: (item: T) => string, p = 1): Alternative<T>[] {
  return items.map((item) => ({ words: [word(item)], p: p / items.length, value: item }));
}

/** Deterministic generator of uniforms in [0, 1) (src/util/random.ts). */
export const makeRng = mulberry32;

/** Mixes a base seed and an index into a new seed, so story i of a set is independent of the others. */
export function mixSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index + 0x85ebca6b), 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x27d4eb2f) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

/** Draws one word from a Choice; a Choice with one word consumes no randomness. */
export function sampleChoice(choice: Choice, rng: () => number): string {
  if (choice.words.length === 1) return choice.words[0];
  let u = rng();
  for (let i = 0; i < choice.words.length; i++) {
    u -= choice.probs[i];
    if (u < 0) return choice.words[i];
  }
  return choice.words[choice.words.length - 1]; // rounding left u ≥ 0 after the last word
}

/** What running a process over a word source produced. */
export interface Run<L> {
  /** The words consumed, in order. */
  readonly words: string[];
  /** Natural-log probability of each consumed word given the words before it. */
  readonly logProbs: number[];
  /** The Choice each word was drawn from (only when recorded). */
  readonly choices: Choice[];
  /** Labels after each word (only when recorded). */
  readonly labels: L[];
  /** True when the process reached its end. */
  readonly complete: boolean;
  /** Index of the first word the process could not accept, or -1. */
  readonly rejectedAt: number;
  /** When the word source stopped early: the Choice of the next word (else null). */
  readonly pending: Choice | null;
}

/** What to keep while running. */
export interface RunOptions {
  readonly recordChoices?: boolean;
  readonly recordLabels?: boolean;
}

/**
 * Runs `process`, taking each word from `next` (undefined stops early). `snapshot` copies the
 * labels after each word; it is called once the process has moved on to its next Choice, so the
 * labels of a word include every update its choice caused.
 */
export function runProcess<L>(
  process: Process<void>,
  next: (choice: Choice, index: number) => string | undefined,
  snapshot: () => L,
  options: RunOptions = {},
): Run<L> {
  const run: Run<L> = { words: [], logProbs: [], choices: [], labels: [], complete: false, rejectedAt: -1, pending: null };
  let step = process.next();
  for (let i = 0; !step.done; i++) {
    const choice = step.value;
    const word = next(choice, i);
    if (word === undefined) return { ...run, pending: choice };
    const k = choice.words.indexOf(word);
    if (k < 0) return { ...run, rejectedAt: i };
    run.words.push(word);
    run.logProbs.push(Math.log(choice.probs[k]));
    if (options.recordChoices) run.choices.push(choice);
    step = process.next(word);
    if (options.recordLabels) run.labels.push(snapshot());
  }
  return { ...run, complete: true };
}
