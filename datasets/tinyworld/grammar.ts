/**
 * The story grammar: one TinyWorld story as a Process over words (see process.ts).
 *
 *   Once upon a time , there was a little fox named Lily . She lived near the river .
 *   It was a rainy day , and the rain fell softly . Lily was glad . She smiled . Lily found
 *   some cheese . She did not like the cheese . Then a big storm came . The fox felt scared .
 *   At the end of the day , Lily went home nervously . The end .
 *
 * Shape: intro (species, name) → setting (place) → weather → [counting] → mood → 2 or more episodes
 * (mood action, species sound, food with liking or negation, mood change with a cause,
 * counting) → ending whose adverb shows the final mood → <eos>.
 *
 * Every branch is decided by the word that shows it: when several sentence kinds start with the
 * subject ("Tom smiled", "Tom found …"), one pick covers subject and next word together, so
 * the kind is decided at the verb. That keeps the process free of hidden decisions.
 */

import {
  FOOD_PROBS, FOODS, MOOD_CAUSES, MOOD_WORDS, MOODS, NAMES, NUMBER_WORDS, OBJECTS, PLACES, PRONOUNS,
  SIZE_WORDS, SOUNDS, SPECIES, WEATHER_DETAIL, WEATHERS, genderOf,
} from './lexicon.js';
import type { CountObject, Food, Gender, Mood, Name, Place, Species, Weather } from './lexicon.js';
import { pick, say, uniform } from './process.js';
import type { Alternative, Process } from './process.js';

/** Attribute values that hold at a token: null until the story reveals them. */
export interface TokenLabels {
  species: Species | null;
  name: Name | null;
  gender: Gender | null;
  /** The protagonist's mood now; changes at the last word of a cause ("… a big storm came"). */
  mood: Mood | null;
  place: Place | null;
  weather: Weather | null;
  food: Food | null;
  /** Whether the protagonist liked the food: set at "liked" / "did". */
  likesFood: boolean | null;
  /** True on the words of a negated clause, from "did" to the word before its ".". */
  negated: boolean;
  /** How many objects the protagonist has in the counting episode, from the number word on. */
  count: number | null;
  object: CountObject | null;
  /** How many times the mood has changed so far. */
  moodChanges: number;
}

export function emptyLabels(): TokenLabels {
  return {
    species: null, name: null, gender: null, mood: null, place: null, weather: null, food: null,
    likesFood: null, negated: false, count: null, object: null, moodChanges: 0,
  };
}

/** Constraints used to build matched stories (contrastive pairs); empty for the natural grammar. */
export interface StoryOptions {
  /** Force the protagonist's species. */
  readonly species?: Species;
  /** Force the first mood. */
  readonly mood?: Mood;
  /** Allow mood changes (default true). */
  readonly moodChanges?: boolean;
}

/** Probabilities of who the subject of a sentence is. */
const SUBJECT_P = { name: 0.4, pronoun: 0.35, species: 0.25 } as const;
/** Weights of the middle episodes before normalisation. */
const EPISODE_W = { action: 0.3, sound: 0.2, food: 0.3, change: 0.15, count: 0.1 } as const;
/**
 * After MIN_EPISODES, the story ends after each episode with probability P_END, independent of how
 * many came before: a model need not count episodes to know when "At the end" may come. The cap
 * only bounds length (fits the 256-token context); it is reached in about 0.04% of stories.
 */
const MIN_EPISODES = 2;
const MAX_EPISODES = 20;
const P_END = 0.35;

type Episode = 'action' | 'sound' | 'food' | 'change' | 'count' | 'end' | 'so';

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/**
 * Alternatives for "<subject> <rest…>": the name, the pronoun, or "the <species>", each followed
 * by `rest`, with total probability p. `capital` is for sentence-initial position.
 */
function subjectThen<T>(s: TokenLabels, rest: readonly string[], p: number, value: T, capital = true): Alternative<T>[] {
  const pro = PRONOUNS[s.gender!];
  return [
    { words: [s.name!, ...rest], p: p * SUBJECT_P.name, value },
    { words: [capital ? pro.Subj : pro.subj, ...rest], p: p * SUBJECT_P.pronoun, value },
    { words: [capital ? 'The' : 'the', s.species!, ...rest], p: p * SUBJECT_P.species, value },
  ];
}

/** Expands a template ("{subj} lost {poss} ball") into word alternatives over the subject forms. */
function template<T>(s: TokenLabels, text: string, p: number, value: T): Alternative<T>[] {
  const pro = PRONOUNS[s.gender!];
  const words = text.replace('{poss}', pro.poss).replace('{obj}', pro.obj).split(' ');
  const at = words.indexOf('{subj}');
  if (at < 0) return [{ words, p, value }];
  return subjectThen(s, words.slice(at + 1), p, value, false).map((a) => ({ ...a, words: [...words.slice(0, at), ...a.words] }));
}

export function* story(s: TokenLabels, o: StoryOptions = {}): Process<void> {
  yield* intro(s, o);
  yield* setting(s);
  yield* weather(s);
  const first = yield* pick([...subjectThen(s, ['had'], 0.35, 'count' as const), ...subjectThen(s, ['was'], 0.65, 'mood' as const)]);
  if (first === 'count') {
    yield* counting(s);
    yield* pick(subjectThen(s, ['was'], 1, null));
  }
  yield* moodIntro(s, o);
  yield* episodes(s, o);
  yield* say('<eos>');
}

function* intro(s: TokenLabels, o: StoryOptions): Process<void> {
  yield* say('Once upon a time , there was');
  // Article, optional size word and species in one pick, so that "a"/"an" agrees with the next word.
  const species = o.species ? [o.species] : SPECIES;
  const alts: Alternative<Species>[] = [];
  for (const sp of species) {
    alts.push({ words: [article(sp), sp], p: 0.5 / species.length, value: sp });
    for (const size of SIZE_WORDS) alts.push({ words: [article(size), size, sp], p: 0.5 / species.length / SIZE_WORDS.length, value: sp });
  }
  s.species = yield* pick(alts);
  yield* say('named');
  const name = yield* pick(uniform([...NAMES.male, ...NAMES.female], (n) => n));
  s.name = name;
  s.gender = genderOf(name);
  yield* say('.');
}

function* setting(s: TokenLabels): Process<void> {
  const kind = yield* pick([...subjectThen(s, ['lived'], 0.5, 'lived' as const), { words: ['One'], p: 0.5, value: 'went' as const }]);
  if (kind === 'lived') {
    yield* say('near the');
  } else {
    yield* say('day ,');
    yield* pick(subjectThen(s, ['went'], 1, null, false));
    yield* say('to the');
  }
  s.place = yield* pick(uniform(PLACES, (p) => p));
  yield* say('.');
}

function* weather(s: TokenLabels): Process<void> {
  yield* say('It was a');
  const w = yield* pick(uniform(WEATHERS, (x) => x));
  s.weather = w;
  yield* say('day');
  const detail = yield* pick([{ words: [','], p: 0.5, value: true }, { words: ['.'], p: 0.5, value: false }]);
  if (detail) yield* say(`${WEATHER_DETAIL[w]} .`);
}

/** After "<subject> was": the first mood, shown by its adjective. */
function* moodIntro(s: TokenLabels, o: StoryOptions): Process<void> {
  const moods = o.mood ? [o.mood] : MOODS;
  const alts = moods.flatMap((m) => uniform(MOOD_WORDS[m].adjectives, (a) => a, 1 / moods.length).map((a) => ({ ...a, value: m })));
  s.mood = yield* pick(alts);
  yield* say('.');
}

/** The middle of the story and its ending. */
function* episodes(s: TokenLabels, o: StoryOptions): Process<void> {
  let done = 0;
  let foodDone = false;
  let countDone = s.count !== null;
  let pendingSo = false;
  for (;;) {
    const pEnd = done < MIN_EPISODES ? 0 : done >= MAX_EPISODES ? 1 : P_END;
    const w = {
      action: EPISODE_W.action,
      sound: EPISODE_W.sound,
      food: foodDone ? 0 : EPISODE_W.food,
      change: o.moodChanges === false || s.moodChanges >= 2 ? 0 : EPISODE_W.change,
      count: countDone ? 0 : EPISODE_W.count,
    };
    const total = w.action + w.sound + w.food + w.change + w.count;
    // "So …" (the consequence of liking the food) may only follow the food episode, and takes half the mass.
    const rest = (1 - pEnd) * (pendingSo ? 0.5 : 1);
    const scale = (x: number): number => (rest * x) / total;
    const m = MOOD_WORDS[s.mood!];
    const alts: Alternative<Episode>[] = [
      ...m.verbs.flatMap((v) => subjectThen(s, [v], scale(w.action) / m.verbs.length, 'action' as const)),
      ...SOUNDS[s.species!].flatMap((v) => subjectThen(s, [v], scale(w.sound) / 2, 'sound' as const)),
      ...subjectThen(s, ['found'], scale(w.food), 'food' as const),
      ...subjectThen(s, ['had'], scale(w.count), 'count' as const),
      { words: ['Then'], p: scale(w.change), value: 'change' },
      { words: ['At'], p: pEnd, value: 'end' },
      { words: ['So'], p: pendingSo ? (1 - pEnd) * 0.5 : 0, value: 'so' },
    ];
    const episode = yield* pick(alts);
    pendingSo = false;
    switch (episode) {
      case 'action': yield* action(s); break;
      case 'sound': yield* say('.'); break;
      case 'food': yield* food(s); foodDone = true; pendingSo = true; break;
      case 'so': yield* consequence(s); break;
      case 'change': yield* change(s); break;
      case 'count': yield* counting(s); countDone = true; break;
      case 'end': yield* ending(s); return;
    }
    if (episode !== 'so') done++;
  }
}

/** After "<subject> <mood verb>": "." or "and <another verb of the same mood> .". */
function* action(s: TokenLabels): Process<void> {
  const verbs = MOOD_WORDS[s.mood!].verbs;
  const alts: Alternative<null>[] = [{ words: ['.'], p: 0.7, value: null }, ...uniform(verbs, (v) => v, 0.3).map((a) => ({ ...a, words: ['and', ...a.words, '.'], value: null }))];
  yield* pick(alts);
}

/** After "<subject> found": "some <food> . <subject> liked / did not like the <food> .". */
function* food(s: TokenLabels): Process<void> {
  yield* say('some');
  const f = yield* pick(FOODS.map((x) => ({ words: [x], p: FOOD_PROBS[x], value: x })));
  s.food = f;
  yield* say('.');
  const likes = yield* pick([...subjectThen(s, ['liked'], 0.6, true), ...subjectThen(s, ['did'], 0.4, false)]);
  s.likesFood = likes;
  if (likes) {
    yield* say(`the ${f} .`);
  } else {
    s.negated = true;
    // Labels of a word include updates made before the next Choice, so resetting after "." leaves
    // the food word negated and the "." not.
    yield* say(`not like the ${f} .`);
    s.negated = false;
  }
}

/** After "So": "<subject> ate all of it ." or "<subject> did not eat it .", following the liking. */
function* consequence(s: TokenLabels): Process<void> {
  if (s.likesFood) {
    yield* pick(subjectThen(s, ['ate'], 1, null, false));
    yield* say('all of it .');
  } else {
    yield* pick(subjectThen(s, ['did'], 1, null, false));
    s.negated = true;
    yield* say('not eat it .');
    s.negated = false;
  }
}

/** After "Then": a cause, which sets the new mood, then "<subject> felt <adjective> .". */
function* change(s: TokenLabels): Process<void> {
  const others = MOODS.filter((m) => m !== s.mood);
  const alts = others.flatMap((m) => MOOD_CAUSES[m].flatMap((c) => template(s, c, 1 / others.length / MOOD_CAUSES[m].length, m)));
  s.mood = yield* pick(alts);
  s.moodChanges++;
  yield* say('.');
  yield* pick(subjectThen(s, ['felt'], 1, null));
  yield* pick(uniform(MOOD_WORDS[s.mood].adjectives, (a) => a));
  yield* say('.');
}

/** After "<subject> had": "N things . One thing was lost / Then … found one more . Now … had M things .". */
function* counting(s: TokenLabels): Process<void> {
  const n = yield* pick(uniform([2, 3, 4, 5], (k) => NUMBER_WORDS[k]));
  s.count = n;
  const obj = yield* pick(uniform(OBJECTS, (x) => x.many));
  s.object = obj.one;
  yield* say('.');
  const lose = yield* pick([{ words: ['One'], p: 0.5, value: true }, { words: ['Then'], p: 0.5, value: false }]);
  if (lose) {
    yield* say(`${obj.one} ${obj.lost} .`);
  } else {
    yield* pick(subjectThen(s, ['found'], 1, null, false));
    yield* say(`one more ${obj.one} .`);
  }
  s.count = n + (lose ? -1 : 1);
  yield* say('Now');
  yield* pick(subjectThen(s, ['had'], 1, null, false));
  yield* say(`${NUMBER_WORDS[s.count]} ${s.count === 1 ? obj.one : obj.many} .`);
}

/** After "At": "the end of the day , <subject> went home / to bed <adverb> . The end .". */
function* ending(s: TokenLabels): Process<void> {
  yield* say('the end of the day ,');
  yield* pick(subjectThen(s, ['went'], 1, null, false));
  yield* pick([{ words: ['home'], p: 0.5, value: null }, { words: ['to', 'bed'], p: 0.5, value: null }]);
  yield* say(`${MOOD_WORDS[s.mood!].adverb} . The end .`);
}
