/**
 * TinyWorld's lexicon: the attribute values (typed unions) and the words that express them.
 *
 * Word lists that vary with an attribute are parallel (same length, single tokens) so that two
 * stories generated from one seed with a different mood or species differ only in those words;
 * the contrastive pairs rely on that.
 */

export const SPECIES = ['cat', 'dog', 'bird', 'fox', 'rabbit', 'mouse', 'bear', 'owl', 'frog', 'duck'] as const;
export type Species = (typeof SPECIES)[number];

export const MOODS = ['happy', 'sad', 'angry', 'scared'] as const;
export type Mood = (typeof MOODS)[number];

export const PLACES = ['park', 'forest', 'garden', 'river', 'beach', 'farm', 'hill', 'town', 'meadow', 'lake'] as const;
export type Place = (typeof PLACES)[number];

export const WEATHERS = ['sunny', 'rainy', 'windy', 'snowy', 'cloudy'] as const;
export type Weather = (typeof WEATHERS)[number];

export const FOODS = ['cheese', 'bread', 'cake', 'apples', 'carrots', 'fish', 'honey', 'berries'] as const;
export type Food = (typeof FOODS)[number];

/** Cheese is drawn more often than any other food so that cheese-or-not is a balanced-ish probe. */
export const FOOD_PROBS: Readonly<Record<Food, number>> = {
  cheese: 0.3, bread: 0.1, cake: 0.1, apples: 0.1, carrots: 0.1, fish: 0.1, honey: 0.1, berries: 0.1,
};

export type Gender = 'male' | 'female';
export const NAMES = {
  male: ['Tom', 'Max', 'Sam', 'Ben', 'Leo', 'Jack', 'Finn', 'Oscar'],
  female: ['Lily', 'Mia', 'Emma', 'Lucy', 'Rosa', 'Anna', 'Zoe', 'Ruby'],
} as const satisfies Record<Gender, readonly string[]>;
export type Name = (typeof NAMES)[Gender][number];
export const ALL_NAMES: readonly Name[] = [...NAMES.male, ...NAMES.female];

export function genderOf(name: Name): Gender {
  return (NAMES.male as readonly string[]).includes(name) ? 'male' : 'female';
}

/** Pronouns by gender: subject (sentence-initial and not), possessive, object. */
export const PRONOUNS: Readonly<Record<Gender, { Subj: string; subj: string; poss: string; obj: string }>> = {
  male: { Subj: 'He', subj: 'he', poss: 'his', obj: 'him' },
  female: { Subj: 'She', subj: 'she', poss: 'her', obj: 'her' },
};

/** How the mood shows: adjectives ("was glad"), verbs ("smiled") and the ending's adverb. */
export const MOOD_WORDS: Readonly<Record<Mood, { adjectives: readonly string[]; verbs: readonly string[]; adverb: string }>> = {
  happy: { adjectives: ['happy', 'glad', 'cheerful'], verbs: ['smiled', 'laughed', 'danced'], adverb: 'happily' },
  sad: { adjectives: ['sad', 'unhappy', 'gloomy'], verbs: ['cried', 'sighed', 'sobbed'], adverb: 'sadly' },
  angry: { adjectives: ['angry', 'cross', 'grumpy'], verbs: ['shouted', 'stomped', 'huffed'], adverb: 'angrily' },
  scared: { adjectives: ['scared', 'afraid', 'nervous'], verbs: ['trembled', 'shivered', 'gasped'], adverb: 'nervously' },
};

/**
 * What changes a mood ("Then a friend came to play ."). Tokens in braces are filled in from the
 * protagonist: {subj} he/she/name, {poss} his/her, {obj} him/her.
 */
export const MOOD_CAUSES: Readonly<Record<Mood, readonly string[]>> = {
  happy: ['a friend came to play', '{subj} got a big gift', '{subj} heard a funny song'],
  sad: ['{subj} lost {poss} ball', '{poss} friend went away', '{subj} fell down in the mud'],
  angry: ['someone broke {poss} toy', 'the others laughed at {obj}', 'a goat ate {poss} hat'],
  scared: ['there was a loud noise', 'a big storm came', 'a dark shadow moved'],
};

/** Species-specific verbs ("The cat purred ."): they make the species visible in word choice. */
export const SOUNDS: Readonly<Record<Species, readonly [string, string]>> = {
  cat: ['purred', 'meowed'], dog: ['barked', 'woofed'], bird: ['chirped', 'tweeted'], fox: ['yipped', 'sniffed'],
  rabbit: ['hopped', 'thumped'], mouse: ['squeaked', 'scurried'], bear: ['roared', 'grunted'],
  owl: ['hooted', 'blinked'], frog: ['croaked', 'leaped'], duck: ['quacked', 'waddled'],
};

/** Optional clause after "It was a W day ,", fixed per weather. */
export const WEATHER_DETAIL: Readonly<Record<Weather, string>> = {
  sunny: 'and the sun was warm', rainy: 'and the rain fell softly', windy: 'and the wind blew the leaves',
  snowy: 'and snow covered the ground', cloudy: 'and gray clouds filled the sky',
};

/** Countable things for the counting episode: singular, plural, and how one is lost. */
export const OBJECTS = [
  { one: 'balloon', many: 'balloons', lost: 'flew away' },
  { one: 'shell', many: 'shells', lost: 'broke' },
  { one: 'stone', many: 'stones', lost: 'rolled away' },
  { one: 'flower', many: 'flowers', lost: 'wilted' },
  { one: 'kite', many: 'kites', lost: 'got lost' },
] as const;
export type CountObject = (typeof OBJECTS)[number]['one'];

export const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six'] as const;

/** Adjectives that may precede the species in the first sentence ("a little cat"). */
export const SIZE_WORDS = ['little', 'small', 'young'] as const;
