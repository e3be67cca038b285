/**
 * Parses the model's samples (.data/samples.json, written by evaluate.py) with the generator's own
 * parser and reports the grammatical fraction, plus where the failures left the grammar.
 *
 *   npx tsx datasets/tinyworld/scripts/check-samples.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWords, scoreText, wordsToText } from '../index.js';
import { BOS_ID, idsToWords } from '../tokenizer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const samples = JSON.parse(fs.readFileSync(path.join(root, '.data', 'samples.json'), 'utf8')) as { temperature: number; ids: number[][] };

let ok = 0;
const failures: string[] = [];
const moods = new Map<string, number>();
for (const ids of samples.ids) {
  const words = idsToWords(ids[0] === BOS_ID ? ids.slice(1) : ids);
  const run = parseWords(words);
  const text = wordsToText(words);
  if (run.complete && run.words.length === words.length) {
    ok++;
    const m = scoreText(text).finalMood ?? 'none';
    moods.set(m, (moods.get(m) ?? 0) + 1);
  } else {
    const at = run.rejectedAt >= 0 ? run.rejectedAt : words.length;
    failures.push(`${wordsToText(words.slice(0, at))} >>> ${words.slice(at, at + 3).join(' ') || '(no <eos>)'}`);
  }
}
const n = samples.ids.length;
console.log(`${ok}/${n} samples at temperature ${samples.temperature} are grammatical: ${((100 * ok) / n).toFixed(1)}% (acceptance: >= 95%)`);
console.log(`final moods of the grammatical ones: ${[...moods].map(([m, k]) => `${m} ${k}`).join(', ')}`);
for (const f of failures.slice(0, 10)) console.log(`  rejected: ${f}`);
