/**
 * TinyWorld's datasets, generated on demand and deterministic: an SAE corpus, probe sets with a
 * marked token position, contrastive pairs for steering, and mood-free neutral text. Each record
 * is one JSONL line; the CLI resolves `tinyworld:NAME` through tinyworldDataset.
 *
 * Token positions (`pos`) count the BOS the runtime prepends: pos = 1 + index into
 * tokenizer.encode(text) (which adds no special tokens). Probe texts end at the marked token, so
 * pos is also the last position.
 */

import { UsageError, assert } from '../../src/errors.js';
import type { TokenLabels } from './grammar.js';
import { MOOD_WORDS, MOODS, PLACES, SOUNDS, SPECIES } from './lexicon.js';
import type { Mood, Species } from './lexicon.js';
import { SEEDS, storySeed } from './seeds.js';
import { EOS, generateStory, wordsToText } from './story.js';
import type { Story } from './story.js';

/** A probe line: the text up to the marked token, the label, and every attribute that holds there. */
export interface ProbeRecord {
  readonly text: string;
  /** The probed attribute's value at `pos` ("happy", "fox", true for cheese …). */
  readonly label: string | boolean;
  /** Position of the marked token, counting the prepended BOS (see the module comment). */
  readonly pos: number;
  /** The marked token itself, for checking positions. */
  readonly token: string;
  readonly species: string | null;
  readonly name: string | null;
  readonly mood: string | null;
  readonly place: string | null;
  readonly weather: string | null;
  readonly food: string | null;
  readonly likes_food: boolean | null;
  readonly negated: boolean;
  readonly count: number | null;
}

/** A contrastive pair: two stories from one seed that differ only in one attribute's words. */
export interface PairRecord {
  readonly positive: string;
  readonly negative: string;
  readonly attribute: 'mood' | 'species';
  readonly positive_value: string;
  readonly negative_value: string;
}

export type TextRecord = { readonly text: string };
export type DatasetRecord = ProbeRecord | PairRecord | TextRecord;

/** The probe attributes and how to read their label from a token's labels (null: not yet known). */
const PROBES = {
  mood: (l: TokenLabels) => l.mood,
  species: (l: TokenLabels) => l.species,
  place: (l: TokenLabels) => l.place,
  cheese: (l: TokenLabels) => (l.food === null ? null : l.food === 'cheese'),
} as const satisfies Record<string, (l: TokenLabels) => string | boolean | null>;
type ProbeName = keyof typeof PROBES;

/** Classes each probe set is balanced over. */
const CLASSES: Readonly<Record<ProbeName, readonly (string | boolean)[]>> = {
  mood: MOODS, species: SPECIES, place: PLACES, cheese: [true, false],
};

interface DatasetSpec {
  readonly description: string;
  /** Lines produced when no count is given. */
  readonly defaultCount: number;
  readonly build: (count: number) => DatasetRecord[];
}

/** Every dataset name, what it holds, and how it is built. */
export const TINYWORLD_DATASETS: Readonly<Record<string, DatasetSpec>> = {
  corpus: { description: 'whole stories, {text}: SAE training and capture', defaultCount: 10_000, build: corpus },
  mood: { description: 'probe set, mood (happy/sad/angry/scared), balanced', defaultCount: 2_000, build: (n) => probeSet('mood', n) },
  species: { description: 'probe set, species (10 classes), balanced', defaultCount: 2_000, build: (n) => probeSet('species', n) },
  place: { description: 'probe set, place (10 classes), balanced', defaultCount: 2_000, build: (n) => probeSet('place', n) },
  cheese: { description: 'probe set, cheese or not (label true/false), balanced', defaultCount: 2_000, build: (n) => probeSet('cheese', n) },
  'pairs-happy-sad': { description: 'contrastive pairs, happy (positive) vs sad (negative)', defaultCount: 500, build: (n) => pairs('mood', 'happy', 'sad', n) },
  'pairs-cat-dog': { description: 'contrastive pairs, cat (positive) vs dog (negative)', defaultCount: 500, build: (n) => pairs('species', 'cat', 'dog', n) },
  neutral: { description: 'story openings with no mood word, {text}: capability cost of steering', defaultCount: 1_000, build: neutral },
  'sad-openings': { description: 'sad story openings to steer toward happy, {text}: the sad story of pair 400 + i, cut after its first mood sentence', defaultCount: 100, build: (n) => sadOpenings(n) },
};

export const TINYWORLD_PREFIX = 'tinyworld:';

/**
 * The records of a TinyWorld dataset: `name` is a key of TINYWORLD_DATASETS, with or without the
 * "tinyworld:" prefix. Throws UsageError, listing the known names, for any other name.
 */
export function tinyworldRecords(name: string, options: { count?: number } = {}): DatasetRecord[] {
  const key = name.startsWith(TINYWORLD_PREFIX) ? name.slice(TINYWORLD_PREFIX.length) : name;
  const spec = Object.hasOwn(TINYWORLD_DATASETS, key) ? TINYWORLD_DATASETS[key] : undefined;
  if (!spec) {
    const known = Object.keys(TINYWORLD_DATASETS).map((k) => TINYWORLD_PREFIX + k).join(', ');
    throw new UsageError(`unknown TinyWorld dataset "${name}"; known: ${known}`, 'use one of the names listed (see datasets/tinyworld/README.md)');
  }
  const count = options.count ?? spec.defaultCount;
  if (!Number.isInteger(count) || count <= 0) {
    throw new UsageError(`TinyWorld dataset "${name}": count must be a positive integer, got ${count}`, 'pass a count such as 1000');
  }
  return spec.build(count);
}

/** The dataset as JSONL lines (one JSON object per string, no trailing newline). */
export function tinyworldDataset(name: string, options: { count?: number } = {}): string[] {
  return tinyworldRecords(name, options).map((r) => JSON.stringify(r));
}

/** Story i of the dataset seed base, as an endless deterministic stream. */
function* stories(salt: number): Generator<Story> {
  for (let i = 0; ; i++) yield generateStory(storySeed(SEEDS.datasets, salt * 1_000_003 + i));
}

function corpus(count: number): TextRecord[] {
  const out: TextRecord[] = [];
  for (const s of stories(0)) {
    if (out.length === count) break;
    out.push({ text: s.text });
  }
  return out;
}

/** The probe record for token t of a story. */
function probeRecord(s: Story, t: number, label: string | boolean): ProbeRecord {
  const l = s.labels[t];
  return {
    text: wordsToText(s.words.slice(0, t + 1)), label, pos: t + 1, token: s.words[t],
    species: l.species, name: l.name, mood: l.mood, place: l.place, weather: l.weather, food: l.food,
    likes_food: l.likesFood, negated: l.negated, count: l.count,
  };
}

/**
 * A balanced probe set: for each story, one position chosen uniformly among the tokens where the
 * attribute is known (never <eos>), kept while its class has room. A seeded counter picks the
 * position, so the set is deterministic.
 */
/**
 * Words whose choice shows an attribute: mood words (adjectives, verbs, adverbs) and species
 * sounds. A token followed by one of them is a position where the model needs the attribute to
 * predict the next token, so the attribute must be present in its residual stream there; at other
 * positions a model may leave it in an earlier token and attend back when needed.
 */
const EXPRESSES: Partial<Record<ProbeName, ReadonlySet<string>>> = {
  mood: new Set(MOODS.flatMap((m) => [...MOOD_WORDS[m].adjectives, ...MOOD_WORDS[m].verbs, MOOD_WORDS[m].adverb])),
  species: new Set(SPECIES.flatMap((sp) => [...SOUNDS[sp]])),
};

/** Probe positions of a story: tokens with a known label, just before a word that expresses it when the attribute has such words. */
function probePositions(probe: ProbeName, s: Story): number[] {
  const expresses = EXPRESSES[probe];
  return s.words.flatMap((w, t) => {
    if (w === EOS || PROBES[probe](s.labels[t]) === null) return [];
    return expresses === undefined || expresses.has(s.words[t + 1] ?? '') ? [t] : [];
  });
}

function probeSet(probe: ProbeName, count: number): ProbeRecord[] {
  const classes = CLASSES[probe];
  const quota = Math.ceil(count / classes.length);
  const taken = new Map<string | boolean, number>(classes.map((c) => [c, 0]));
  const out: ProbeRecord[] = [];
  let k = 0;
  for (const s of stories(1 + Object.keys(PROBES).indexOf(probe))) {
    if (out.length >= count) break;
    const known = probePositions(probe, s);
    if (known.length === 0) continue;
    const t = known[storySeed(k++, 7) % known.length];
    const label = PROBES[probe](s.labels[t]);
    assert(label !== null, () => 'probe position without a label');
    if ((taken.get(label) ?? quota) >= quota) continue;
    taken.set(label, taken.get(label)! + 1);
    out.push(probeRecord(s, t, label));
  }
  return out;
}

/** Pairs from one seed with the attribute forced to each value; mood pairs keep one mood throughout. */
function pairs(attribute: 'mood' | 'species', positive: Mood | Species, negative: Mood | Species, count: number): PairRecord[] {
  const out: PairRecord[] = [];
  for (let i = 0; out.length < count; i++) {
    const seed = storySeed(SEEDS.datasets, 9_000_000 + i);
    const make = (v: Mood | Species): Story =>
      attribute === 'mood' ? generateStory(seed, { mood: v as Mood, moodChanges: false }) : generateStory(seed, { species: v as Species });
    const a = make(positive);
    const b = make(negative);
    // Parallel word lists make the two stories token-aligned; check rather than trust it.
    assert(a.words.length === b.words.length, () => `pair ${i}: stories differ in length`);
    out.push({ positive: a.text, negative: b.text, attribute, positive_value: positive, negative_value: negative });
  }
  return out;
}

/**
 * Prompts for steering toward happy: the sad story of happy−sad pair 400 + i (after the pairs a
 * vector is read from), cut after the sentence of its first mood word. Pair stories keep one mood,
 * so the unsteered model goes on sad and a happy continuation is the steering's doing.
 */
export function sadOpenings(count: number, from = 400): TextRecord[] {
  const out: TextRecord[] = [];
  for (let i = from; out.length < count; i++) {
    const s = generateStory(storySeed(SEEDS.datasets, 9_000_000 + i), { mood: 'sad', moodChanges: false });
    const first = s.labels.findIndex((l) => l.mood !== null);
    assert(first >= 0, () => `sad opening ${i}: no mood word`);
    out.push({ text: wordsToText(s.words.slice(0, s.words.indexOf('.', first) + 1)) });
  }
  return out;
}

/** Story openings up to the sentence before the first mood word. */
function neutral(count: number): TextRecord[] {
  const out: TextRecord[] = [];
  for (const s of stories(100)) {
    if (out.length === count) break;
    const firstMood = s.labels.findIndex((l) => l.mood !== null);
    const end = s.words.lastIndexOf('.', firstMood);
    out.push({ text: wordsToText(s.words.slice(0, end + 1)) });
  }
  return out;
}
