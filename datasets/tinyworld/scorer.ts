/**
 * Ground truth for text TinyWorld did not necessarily write: labels per token when the text
 * parses, and a lexicon scorer that reads any text (a steered or sampled continuation) and reports
 * which attribute values its words express.
 */

import { ALL_NAMES, FOODS, MOOD_WORDS, MOODS, PLACES, PRONOUNS, SOUNDS, SPECIES, WEATHER_DETAIL, WEATHERS } from './lexicon.js';
import type { Food, Gender, Mood, Place, Species, Weather } from './lexicon.js';
import type { TokenLabels } from './grammar.js';
import { parseWords, storyWords, textToWords } from './story.js';

const MOOD_OF_WORD: ReadonlyMap<string, Mood> = new Map(
  MOODS.flatMap((m) => [...MOOD_WORDS[m].adjectives, ...MOOD_WORDS[m].verbs, MOOD_WORDS[m].adverb].map((w) => [w, m] as const)),
);
const SPECIES_OF_WORD: ReadonlyMap<string, Species> = new Map(
  SPECIES.flatMap((s) => [s, ...SOUNDS[s]].map((w) => [w, s] as const)),
);

/** The weather's own word, and the first word of its detail clause that no other weather's detail uses ("rain"). */
const WEATHER_OF_WORD: ReadonlyMap<string, Weather> = new Map(
  WEATHERS.flatMap((w) => {
    const others = new Set(WEATHERS.filter((o) => o !== w).flatMap((o) => WEATHER_DETAIL[o].split(' ')));
    const own = WEATHER_DETAIL[w].split(' ').find((x) => !others.has(x));
    return own === undefined ? [[w, w] as const] : [[w, w] as const, [own, w] as const];
  }),
);
const GENDER_OF_WORD: ReadonlyMap<string, Gender> = new Map(
  (['male', 'female'] as const).flatMap((g) => Object.values(PRONOUNS[g]).map((w) => [w, g] as const)),
);
const oneOf = <T extends string>(values: readonly T[]): ReadonlyMap<string, T> => new Map(values.map((v) => [v, v] as const));
const NAME_OF_WORD = oneOf(ALL_NAMES);
const PLACE_OF_WORD = oneOf(PLACES);
const FOOD_OF_WORD = oneOf(FOODS);

/** The attribute values a single word can express, by TokenLabels field. */
export type ExpressedValues = Partial<{
  mood: Mood; species: Species; name: string; gender: Gender; place: Place; weather: Weather; food: Food; likesFood: boolean; negated: true;
}>;

/**
 * The attribute values that word i of `words` expresses: the words whose choice shows a value
 * (the lexicon's word lists, the ones the probe sets and scoreText use). Mood: adjectives, verbs,
 * adverbs ("laughed at", a cause of anger, is not laughter); species: its noun and its sounds;
 * name; gender: pronouns; place, food: their word; weather: its word and the first word of its
 * detail clause ("sun", "rain" …); likes_food: "liked" / "ate all" (true), "did" (false, "did not
 * like / eat"); negated: "not".
 */
export function wordExpresses(words: readonly string[], i: number): ExpressedValues {
  const w = words[i];
  const out: { -readonly [K in keyof ExpressedValues]: ExpressedValues[K] } = {};
  const mood = w === 'laughed' && words[i + 1] === 'at' ? undefined : MOOD_OF_WORD.get(w);
  if (mood) out.mood = mood;
  const sp = SPECIES_OF_WORD.get(w);
  if (sp) out.species = sp;
  if (NAME_OF_WORD.has(w)) out.name = w;
  const g = GENDER_OF_WORD.get(w);
  if (g) out.gender = g;
  const place = PLACE_OF_WORD.get(w);
  if (place) out.place = place;
  const weather = WEATHER_OF_WORD.get(w);
  if (weather) out.weather = weather;
  const food = FOOD_OF_WORD.get(w);
  if (food) out.food = food;
  // "ate all of it" (not "a goat ate her hat", a cause of anger).
  if (w === 'liked' || (w === 'ate' && words[i + 1] === 'all')) out.likesFood = true;
  if (w === 'did') out.likesFood = false;
  if (w === 'not') out.negated = true;
  return out;
}

/** What a text expresses. Counts are numbers of words; the dominant value is null when none occurs. */
export interface TextScore {
  /** Words of each mood (adjectives, verbs, adverbs). */
  readonly moodCounts: Readonly<Record<Mood, number>>;
  /** The mood with most words (ties go to the one seen last). */
  readonly mood: Mood | null;
  /** The mood of the last mood word: the mood the text ends in. */
  readonly finalMood: Mood | null;
  /** Species words and species-specific verbs ("purred" counts for cat). */
  readonly speciesCounts: Readonly<Partial<Record<Species, number>>>;
  readonly species: Species | null;
  readonly place: Place | null;
  readonly weather: Weather | null;
  readonly food: Food | null;
  /** "liked the X" → true, "did not like the X" → false, neither → null (the last one wins). */
  readonly likesFood: boolean | null;
  /** Occurrences of "not". */
  readonly negations: number;
  /** Whether the text is one complete story of the grammar (see labelText for its labels). */
  readonly grammatical: boolean;
}

function argmax<K extends string>(counts: Partial<Record<K, number>>, order: readonly K[]): K | null {
  let best: K | null = null;
  for (const k of order) if ((counts[k] ?? 0) > 0 && (best === null || (counts[k] ?? 0) >= (counts[best] ?? 0))) best = k;
  return best;
}

export function scoreText(text: string): TextScore {
  const words = textToWords(text);
  const moodCounts: Record<Mood, number> = { happy: 0, sad: 0, angry: 0, scared: 0 };
  const speciesCounts: Partial<Record<Species, number>> = {};
  const moodOrder: Mood[] = [];
  const speciesOrder: Species[] = [];
  let finalMood: Mood | null = null;
  let place: Place | null = null;
  let weather: Weather | null = null;
  let food: Food | null = null;
  let likesFood: boolean | null = null;
  let negations = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    // "the others laughed at him" is a cause of anger, not laughter: the only mood word the
    // grammar uses outside its mood.
    const mood = w === 'laughed' && words[i + 1] === 'at' ? undefined : MOOD_OF_WORD.get(w);
    if (mood) {
      moodCounts[mood]++;
      finalMood = mood;
      moodOrder.push(mood);
    }
    const sp = SPECIES_OF_WORD.get(w);
    if (sp) {
      speciesCounts[sp] = (speciesCounts[sp] ?? 0) + 1;
      speciesOrder.push(sp);
    }
    if (place === null && (PLACES as readonly string[]).includes(w)) place = w as Place;
    if (weather === null && (WEATHERS as readonly string[]).includes(w)) weather = w as Weather;
    if (food === null && (FOODS as readonly string[]).includes(w)) food = w as Food;
    if (w === 'not') negations++;
    if (w === 'liked') likesFood = true;
    if (w === 'like' && words[i - 1] === 'not') likesFood = false;
  }
  // Ties go to the value seen last, so order candidates by their last occurrence.
  const byLast = <K extends string>(seen: K[]): K[] => [...new Set([...seen].reverse())].reverse();
  return {
    moodCounts, mood: argmax(moodCounts, byLast(moodOrder)), finalMood,
    speciesCounts, species: argmax(speciesCounts, byLast(speciesOrder)),
    place, weather, food, likesFood, negations,
    grammatical: isStoryText(text),
  };
}

/** True when `text` is one complete story of the grammar. */
export function isStoryText(text: string): boolean {
  const words = storyWords(text);
  const run = parseWords(words);
  return run.complete && run.words.length === words.length;
}

/**
 * Labels of each word of `text` (a story or any prefix of one), from the generator's own parse;
 * null when the text leaves the grammar. `words[i]` is token i of tokenizer.encode(text) (no BOS).
 */
export function labelText(text: string): { words: string[]; labels: TokenLabels[] } | null {
  const words = textToWords(text);
  const run = parseWords(words, { labels: true });
  if (run.rejectedAt >= 0 || run.words.length < words.length) return null;
  return { words, labels: run.labels };
}
