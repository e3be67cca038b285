/**
 * What TinyWorld provides to the techniques, through the interfaces they define and the
 * registries the CLI fills at start-up (src/cli/providers.ts): its named datasets
 * (`tinyworld:mood`, `tinyworld:pairs-happy-sad`, … for capture, vector and steer), token
 * labelers for SAE attribute matching (the story state and the attribute the next word
 * expresses, sae's TokenLabeler), and the mood scorer for steering (`--behavior
 * tinyworld:mood=happy`, steering's TextScorer). sae/ and steering/ know none of this: a second
 * dataset provides its own the same way.
 */
import type { NamedDatasetProvider } from '../../src/dataset/providers.js';
import { UsageError } from '../../src/errors.js';
import type { LabelerProvider, TokenLabeler } from '../../sae/index.js';
import type { BehaviorProvider, BehaviorScore, TextScorer } from '../../steering/index.js';
import { TINYWORLD_DATASETS, TINYWORLD_PREFIX, tinyworldDataset } from './datasets.js';
import type { TokenLabels } from './grammar.js';
import { ALL_NAMES, FOODS, MOODS, PLACES, SPECIES, WEATHERS } from './lexicon.js';
import type { Mood } from './lexicon.js';
import { labelText, scoreText, wordExpresses } from './scorer.js';

// ── Named datasets ──────────────────────────────────────────────────────────────────────────

/** `tinyworld:NAME` datasets as JSONL lines (datasets.ts generates them). */
export const tinyworldDatasets: NamedDatasetProvider = {
  prefix: TINYWORLD_PREFIX,
  names: Object.keys(TINYWORLD_DATASETS).map((n) => `${TINYWORLD_PREFIX}${n}`),
  lines: (name) => tinyworldDataset(name),
};

// ── Token labelers (SAE attribute matching) ─────────────────────────────────────────────────

/** Attribute → value list, in display order; each value becomes "attribute=value". */
const TINYWORLD_VALUES: readonly (readonly [keyof TokenLabels, readonly string[]])[] = [
  ['mood', MOODS],
  ['species', SPECIES],
  ['place', PLACES],
  ['weather', WEATHERS],
  ['food', FOODS],
  ['likesFood', ['true', 'false']],
  ['negated', ['true']],
  ['gender', ['male', 'female']],
  ['name', ALL_NAMES],
];

/** Display names of TokenLabels fields that are not already snake-case words. */
const DISPLAY: Partial<Record<keyof TokenLabels, string>> = { likesFood: 'likes_food' };

const TINYWORLD_ATTRIBUTES = TINYWORLD_VALUES.flatMap(([field, values]) => values.map((v) => `${DISPLAY[field] ?? field}=${v}`));
const TINYWORLD_INDEX: ReadonlyMap<string, number> = new Map(TINYWORLD_ATTRIBUTES.map((a, i) => [a, i]));

/** Display name of attribute `field` = `v`, or undefined when the table does not list it. */
function tinyworldIndex(field: keyof TokenLabels, v: unknown): number | undefined {
  const values = TINYWORLD_VALUES.find(([f]) => f === field)?.[1];
  return values?.includes(String(v)) ? TINYWORLD_INDEX.get(`${DISPLAY[field] ?? field}=${String(v)}`) : undefined;
}

/**
 * The generator's own parse of a capture sequence (`labelText`): the number of leading special
 * tokens (<bos>), the words after them and the labels after each word; null when the sequence
 * leaves the grammar (a chunk cut from the middle of a story, foreign text).
 */
function parseTinyworld(tokens: readonly string[]): { lead: number; words: readonly string[]; labels: readonly TokenLabels[] } | null {
  let lead = 0;
  while (lead < tokens.length && /^<.*>$/.test(tokens[lead])) lead++;
  const words = tokens.slice(lead);
  const parsed = labelText(words.join(' '));
  if (parsed === null || parsed.words.length !== words.length || parsed.words.some((w, i) => w !== words[i])) return null;
  return { lead, words, labels: parsed.labels };
}

/**
 * TinyWorld's story state at every token (the generator's own parse, `labelText`): the state
 * after that token, e.g. name=Emma from "Emma" in "named Emma" to the story's end. Leading
 * special tokens (<bos>) hold nothing; a sequence that leaves the grammar is skipped.
 */
export const tinyworldLabeler: TokenLabeler = {
  name: 'tinyworld',
  title: 'Story state',
  description: 'An attribute holds at every token from the word that reveals it to the end of the story (or to the word that changes it), whether or not the model needs it there.',
  attributes: TINYWORLD_ATTRIBUTES,
  label(tokens) {
    const parsed = parseTinyworld(tokens);
    if (parsed === null) return null;
    const held: (readonly number[])[] = Array.from({ length: parsed.lead }, () => []);
    for (const labels of parsed.labels) {
      const here: number[] = [];
      for (const [field] of TINYWORLD_VALUES) {
        const v = labels[field];
        if (v === null || v === false && field === 'negated') continue;
        const i = tinyworldIndex(field, v);
        if (i !== undefined) here.push(i);
      }
      held.push(here);
    }
    return held;
  },
};

/**
 * TinyWorld attributes where the model uses them: attribute a = v holds at token t when the word
 * at t + 1 expresses v (`wordExpresses`: a mood word, a species sound, the name, a pronoun …) and
 * the story already holds a = v at t, so that t is a position where the model must carry the
 * value to predict the next token — the positions the probe sets (tinyworld:mood, …) mark. The
 * word that first reveals a value (the name after "named") is not one: nothing before it knows
 * the value. The last token and leading special tokens hold nothing.
 */
export const tinyworldNextWordLabeler: TokenLabeler = {
  name: 'tinyworld-next-word',
  title: 'Attribute expressed by the next word (where the model uses it)',
  description: 'An attribute holds at a token when the story already has it and the next word expresses it (a mood word, a species sound, the name, a pronoun, the food …), the positions the TinyWorld probe sets mark.',
  attributes: TINYWORLD_ATTRIBUTES,
  label(tokens) {
    const parsed = parseTinyworld(tokens);
    if (parsed === null) return null;
    const { lead, words, labels } = parsed;
    const held: (readonly number[])[] = Array.from({ length: lead }, () => []);
    for (let t = 0; t < words.length; t++) {
      const here: number[] = [];
      if (t + 1 < words.length) {
        for (const [field, v] of Object.entries(wordExpresses(words, t + 1)) as [keyof TokenLabels, unknown][]) {
          if (labels[t][field] !== v) continue;
          const i = tinyworldIndex(field, v);
          if (i !== undefined) here.push(i);
        }
      }
      held.push(here.sort((a, b) => a - b));
    }
    return held;
  },
};

/** Both TinyWorld labelings, keyed as attributes.json stores their reports: where the model uses an attribute first, the story state second. */
export const TINYWORLD_LABELERS = { next_word: tinyworldNextWordLabeler, state: tinyworldLabeler } as const satisfies Record<string, TokenLabeler>;

/** TinyWorld's labelers for captures of any `tinyworld:` dataset. */
export const tinyworldLabelers: LabelerProvider = {
  name: 'tinyworld',
  matches: (datasetPath) => datasetPath.startsWith(TINYWORLD_PREFIX),
  labelers: TINYWORLD_LABELERS,
};

// ── Steering behaviour ──────────────────────────────────────────────────────────────────────

/**
 * The mood of a continuation by the generator's own lexicon (scoreText): behaviour =
 * (target-mood words − other mood words) / max(1, mood words) ∈ [−1, 1]; success = the
 * continuation's dominant mood is the target.
 */
export function tinyworldMoodScorer(target: Mood): TextScorer {
  return {
    name: `TinyWorld scorer: mood = ${target}`,
    score(text: string): BehaviorScore {
      const s = scoreText(text);
      const total = MOODS.reduce((a, m) => a + s.moodCounts[m], 0);
      const on = s.moodCounts[target];
      return { score: (on - (total - on)) / Math.max(1, total), success: s.mood === target };
    },
  };
}

/** `--behavior tinyworld:mood=MOOD`. */
export const tinyworldBehaviors: BehaviorProvider = {
  prefix: TINYWORLD_PREFIX,
  example: 'tinyworld:mood=happy',
  parse(value) {
    const m = /^tinyworld:mood=(\w+)$/.exec(value);
    if (!m || !(MOODS as readonly string[]).includes(m[1])) {
      throw new UsageError(`behaviour ${value}: TinyWorld scores mood=MOOD with moods ${MOODS.join(', ')}`, 'pass e.g. tinyworld:mood=happy');
    }
    return tinyworldMoodScorer(m[1] as Mood);
  },
};
