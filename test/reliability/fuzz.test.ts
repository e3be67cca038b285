/**
 * A seeded sample of the parser fuzzing in fuzz-cases.ts (issue 9): every loader of outside data
 * either succeeds or throws an InterpError naming the file — never another error, never a hang,
 * never an allocation sized by a forged field. `npm run bench -- fuzz` runs 10,000 such cases.
 *
 * Then one regression case per bug the fuzzing found, written out by hand so that they stay
 * covered whatever the generator draws.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InterpError } from '../../src/errors.js';
import { TARGETS, describeCase, fuzzCase, fuzzRoot, runCase, type FuzzCase, type FuzzTarget } from './fuzz-cases.js';

const SEED = 20261124;
/** Cases per target: about 30 s for the whole file on two busy cores. */
const RUNS = 60;

const root = fuzzRoot();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function check(target: FuzzTarget, c: FuzzCase): void {
  const outcome = runCase(target, c, root);
  if (outcome.kind === 'failed') throw new Error(`${describeCase(target, c)}\n${outcome.why}`);
}

describe('fuzzed parsers: success or an InterpError naming the file', () => {
  for (const target of TARGETS) {
    it(target.name, () => {
      fc.assert(
        fc.property(fuzzCase, (c) => check(target, c)),
        { seed: SEED, numRuns: RUNS },
      );
    });
  }
});

const target = (name: string): FuzzTarget => TARGETS.find((t) => t.name === name)!;
const nested = (depth: number) => ({ raw: `${'['.repeat(depth)}${']'.repeat(depth)}` });

/** Runs one case and expects a rejection (an InterpError naming the file), returning its message. */
function rejected(t: FuzzTarget, c: FuzzCase): string {
  const outcome = runCase(t, c, root);
  if (outcome.kind !== 'rejected') throw new Error(`${describeCase(t, c)}: expected a rejection, got ${outcome.kind}${outcome.kind === 'failed' ? `: ${outcome.why}` : ''}`);
  return outcome.message;
}

describe('regressions found by the fuzzing', () => {
  it('a value nested 100,000 deep is described in the message, not a stack overflow (safetensors, index, configs)', () => {
    // [target, file, path of the JSON value replaced]: __metadata__, weight_map["wte.weight"], model_type, bos_token_id.
    for (const [name, file, at] of [['safetensors', 0, 1], ['safetensors index', 0, 4], ['config.json', 0, 1], ['config.json', 1, 1], ['probe artifact', 1, 1]] as const) {
      expect(rejected(target(name), { variant: 0, file, mutations: [{ op: 'replace', path: at, value: nested(100_000) }] })).toContain('nested too deeply to show');
    }
  });

  it('a sparsify cfg.json whose k is nested 100,000 deep is refused, not a stack overflow in the message', () => {
    // cfg.json paths: root, activation, expansion_factor, normalize_decoder, num_latents, k.
    expect(rejected(target('SAE (sparsify)'), { variant: 0, file: 0, mutations: [{ op: 'replace', path: 5, value: nested(100_000) }] })).toContain('nested too deeply to show');
  });

  it('probe.json, vector.json, a JSON lexicon and greedy.json that are JSON null are refused, not a TypeError', () => {
    expect(rejected(target('steering lexicon'), { variant: 0, file: 0, mutations: [{ op: 'replace', path: 0, value: { json: null } }] })).toMatch(/expected an object/);
    expect(rejected(target('greedy.json (verify reference)'), { variant: 0, file: 0, mutations: [{ op: 'replace', path: 0, value: { json: null } }] })).toMatch(/needs integer arrays/);
    expect(rejected(target('probe artifact'), { variant: 0, file: 0, mutations: [{ op: 'replace', path: 0, value: { json: null } }] })).toMatch(/expected a JSON object, got null/);
    expect(rejected(target('steering vector'), { variant: 0, file: 0, mutations: [{ op: 'replace', path: 0, value: { json: null } }] })).toMatch(/expected a JSON object, got null/);
  });

  it('a tokenizer.json whose template holds numbers fails at load or encode with a ModelFormatError', () => {
    const t = target('tokenizer.json');
    const seed = JSON.parse(t.seeds()[0][0].data.toString('utf8')) as { post_processor: { single: unknown[] } };
    const dir = fs.mkdtempSync(path.join(root, 'tok-'));
    seed.post_processor.single = [1e-320, 2];
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(seed));
    let error: unknown = null;
    try {
      t.parse(dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InterpError);
    expect((error as Error).message).toContain(path.join(dir, 'tokenizer.json'));
  });

  it('a config.json hidden_size of 8e93 is refused before it sizes the rotary tables', () => {
    for (const value of [8.1538397269439e93, 2 ** 52, 2 ** 20]) {
      expect(rejected(target('config.json'), { variant: 1, file: 0, mutations: [{ op: 'replace', path: 2, value: { json: value } }] })).toMatch(/positive integer|head dimension/);
    }
  });

  it("a damaged cached shuffle permutation (permutation-3.bin) naming rows past the capture's end is refused", () => {
    // Files of the capture seed, sorted: manifest.json, permutation-3.bin, shard-00000.arrow, ...
    const t = target('capture (manifest + Arrow shards)');
    expect(t.seeds()[0][1].name).toBe('permutation-3.bin');
    expect(rejected(t, { variant: 0, file: 1, mutations: [{ op: 'int', at: { region: 'end', f: 0 }, width: 4, value: 0xffffffffn }] })).toMatch(/past the capture's \d+ rows/);
  });

  it('a tokenizer.json vocabulary id of 2,125,882,592 is refused before the library sizes arrays by it (it took four minutes)', () => {
    const t = target('tokenizer.json');
    const seed = JSON.parse(t.seeds()[1][0].data.toString('utf8')) as { model: { vocab: Record<string, number> } };
    const dir = fs.mkdtempSync(path.join(root, 'tok-'));
    seed.model.vocab.the = 2_125_882_592;
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(seed));
    expect(() => t.parse(dir)).toThrow(/token id 2125882592 in the vocabulary or added_tokens is not an integer in \[0, 4194304\)/);
  });

  it('a forged zip central-directory size in params.npz is refused before anything is allocated', () => {
    const t = target('SAE (Gemma Scope params.npz)');
    // The central directory's size field sits 12 bytes into the 22-byte end record.
    const message = rejected(t, { variant: 0, file: 0, mutations: [{ op: 'int', at: { region: 'end', f: 9.5 / 512 }, width: 4, value: 0xfffffff0n }] });
    expect(message).toMatch(/outside the \d+-byte file/);
  });

  it('damaged deflate data in params.npz is a FileFormatError, not a zlib error', () => {
    const t = target('SAE (Gemma Scope params.npz)');
    expect(rejected(t, { variant: 1, file: 0, mutations: [{ op: 'overwrite', at: { region: 'start', f: 45 / 64 }, bytes: [248, 112, 251, 5, 255] }] })).toMatch(/inflate|damaged|npy/);
  });

  it('a negative .npy shape is refused', () => {
    const t = target('SAE (Gemma Scope params.npz)');
    expect(rejected(t, { variant: 0, file: 0, mutations: [{ op: 'replace', path: 4, value: { json: -5 } }] })).toMatch(/non-negative integers/);
  });
});
