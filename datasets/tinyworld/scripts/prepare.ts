/**
 * Writes what training needs: the tokenizer into model/ and the token streams into .data/
 * (git-ignored). Deterministic: the same flags give the same bytes.
 *
 *   npx tsx datasets/tinyworld/scripts/prepare.ts [--train 200000] [--heldout 2000]
 *
 * .data/train.bin, .data/heldout.bin: uint16 little-endian ids, each story "<bos> … <eos>" back
 * to back. .data/heldout_true.json: the generator's exact negative log-likelihood of the held-out
 * tokens (every token after <bos>, <eos> included) — the true entropy the model is compared with.
 * .data/train_dist.{count,ids,probs}.bin: for every predicted token of train.bin (each position
 * after <bos>), the generator's exact next-token distribution: its support size (uint8), then
 * that many ids (uint16) and probabilities (float32). train.py uses them as soft targets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateStory, nextWordDistributions, parseWords } from '../story.js';
import { BOS_ID, VOCAB, tokenizerConfigJson, tokenizerJson, wordsToIds } from '../tokenizer.js';
import { SEEDS, storySeed } from '../seeds.js';
import { MAX_POSITIONS } from '../model-shape.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Exact next-token distributions of a stream, in the three arrays train.py reads. */
class Distributions {
  counts: number[] = [];
  ids: number[] = [];
  probs: number[] = [];

  add(words: readonly string[]): void {
    for (const choice of nextWordDistributions(words)) {
      this.counts.push(choice.words.length);
      this.ids.push(...wordsToIds(choice.words));
      this.probs.push(...choice.probs);
    }
  }

  write(prefix: string): void {
    fs.writeFileSync(`${prefix}.count.bin`, Uint8Array.from(this.counts));
    fs.writeFileSync(`${prefix}.ids.bin`, Buffer.from(Uint16Array.from(this.ids).buffer));
    fs.writeFileSync(`${prefix}.probs.bin`, Buffer.from(Float32Array.from(this.probs).buffer));
  }
}

function writeStream(file: string, base: number, count: number, dist?: Distributions): { tokens: number; nll: number } {
  const ids: number[] = [];
  let tokens = 0;
  let nll = 0;
  for (let i = 0; i < count; i++) {
    const story = generateStory(storySeed(base, i), {}, false);
    ids.push(BOS_ID, ...wordsToIds(story.words));
    dist?.add(story.words);
    if (base === SEEDS.heldout) {
      const run = parseWords(story.words);
      tokens += run.logProbs.length;
      nll -= run.logProbs.reduce((a, b) => a + b, 0);
    }
  }
  fs.writeFileSync(file, Buffer.from(Uint16Array.from(ids).buffer));
  return { tokens, nll };
}

const modelDir = path.join(root, 'model');
const dataDir = path.join(root, '.data');
fs.mkdirSync(modelDir, { recursive: true });
fs.mkdirSync(dataDir, { recursive: true });
fs.writeFileSync(path.join(modelDir, 'tokenizer.json'), JSON.stringify(tokenizerJson(), null, 2) + '\n');
fs.writeFileSync(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson(MAX_POSITIONS), null, 2) + '\n');

const nTrain = flag('train', 200_000);
const nHeld = flag('heldout', 2_000);
const dist = new Distributions();
writeStream(path.join(dataDir, 'train.bin'), SEEDS.train, nTrain, dist);
dist.write(path.join(dataDir, 'train_dist'));
const held = writeStream(path.join(dataDir, 'heldout.bin'), SEEDS.heldout, nHeld);
const truth = { stories: nHeld, tokens: held.tokens, nll_nats: held.nll, entropy_nats_per_token: held.nll / held.tokens };
fs.writeFileSync(path.join(dataDir, 'heldout_true.json'), JSON.stringify(truth, null, 2) + '\n');
console.log(`vocab ${VOCAB.length} words; ${nTrain} training stories; held-out true entropy ${truth.entropy_nats_per_token.toFixed(4)} nats/token over ${held.tokens} tokens`);
