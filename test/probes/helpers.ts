/**
 * Small captures for probe tests: a random 2-layer Llama with a WordLevel tokenizer, a JSONL
 * dataset whose `animal` label is the word at the marked position (so it is decodable), a
 * `constant` label (one class) and `parity` (a label no probe can read), captured at two hooks.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeWordModel } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { isolateCache } from '../helpers/fixtures.js';

const WORDS = ['once', 'upon', 'a', 'time', 'cat', 'dog', 'ran', 'sat', 'big', 'small', 'red', 'blue'];

export function writeModel(dir: string, seed: number, dMlp = 48): void {
  writeWordModel(dir, WORDS, seed, dMlp);
}

export interface ProbeFixture {
  readonly dir: string;
  readonly model: string;
  readonly otherModel: string;
  readonly capture: string;
  readonly otherCapture: string;
  readonly cacheDir: string;
}

/** Writes the models and dataset and captures both models at resid_post.0 and resid_post.1 (positions: last). */
export async function probeFixture(sequences = 120): Promise<ProbeFixture> {
  const cacheDir = isolateCache();
  const dir = mkdtempSync(path.join(tmpdir(), 'interp-probes-'));
  const model = path.join(dir, 'model');
  const otherModel = path.join(dir, 'model-b');
  writeModel(model, 11);
  // Another architecture (d_mlp): the model hash covers config and tensor headers, not weights.
  writeModel(otherModel, 12, 40);
  let s = 7;
  const next = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const fillers = ['once', 'upon', 'a', 'time', 'ran', 'sat', 'big', 'small', 'red', 'blue'];
  const lines = Array.from({ length: sequences }, (_, i) => {
    const words = Array.from({ length: 3 + Math.floor(next() * 4) }, () => fillers[Math.floor(next() * fillers.length)]);
    const animal = next() < 0.5 ? 'cat' : 'dog';
    return JSON.stringify({ text: [...words, animal].join(' '), animal, constant: 'x', parity: i % 2 === 0 });
  });
  const data = path.join(dir, 'data.jsonl');
  writeFileSync(data, lines.join('\n'));
  const capture = path.join(dir, 'cap');
  const otherCapture = path.join(dir, 'cap-b');
  for (const [m, out] of [[model, capture], [otherModel, otherCapture]]) {
    const r = await runCli(['capture', '--model', m, '--dataset', data, '--hooks', 'resid_post.0,resid_post.1', '--positions', 'last', '--out', out, '--no-report', '--json'], { INTERP_CACHE_DIR: cacheDir });
    if (r.code !== 0) throw new Error(`capture failed: ${r.stderr}`);
  }
  return { dir, model, otherModel, capture, otherCapture, cacheDir };
}
