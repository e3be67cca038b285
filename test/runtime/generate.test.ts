/**
 * Generation: greedy ids equal llama2.c's recorded continuation exactly; the KV cache gives the
 * same tokens as recomputing the whole sequence; batched equals one by one (greedy and seeded
 * sampling); interventions reach generated tokens, the first one included; stop strings and EOS.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, phasePositions } from '../../src/runtime/generate.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { compareGreedy, readGreedyReference } from '../../src/runtime/verify.js';
import { writeRandomModel } from '../helpers/checkpoints.js';
import { fixture, isolateCache } from '../helpers/fixtures.js';

isolateCache();
const dir = fixture('llama-stories260K');

describe.skipIf(dir === null)('generation on stories260K', () => {
  let model: HookedTransformer;
  beforeAll(async () => { model = await HookedTransformer.load(dir as string); });
  afterAll(async () => { await model.dispose(); });

  it('greedy ids equal greedy.json exactly (64 tokens)', async () => {
    const ref = readGreedyReference(dir as string);
    expect(ref).not.toBeNull();
    const report = await compareGreedy(model, ref as NonNullable<typeof ref>);
    expect(report.firstMismatch).toBeNull();
    expect(report.got).toHaveLength(64);
  });

  it('the KV cache gives the tokens a full recomputation picks', async () => {
    const prompt = [1, 403, 261, 287];
    const out = await generate(model, [prompt], { maxNewTokens: 12, stopAtEos: false });
    const full = [...prompt, ...out.sequences[0].generated];
    const logits = (await model.run([full])).logits as { data: Float32Array };
    const V = model.config.vocabSize;
    for (let i = 0; i < 12; i++) {
      const row = logits.data.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V);
      expect(row.indexOf(Math.max(...row))).toBe(out.sequences[0].generated[i]);
    }
  });

  it('batched generation equals one by one (greedy and seeded sampling)', async () => {
    const prompts = [[1, 403, 261], [1, 65, 80, 90, 100, 29], [1]];
    for (const opts of [{ temperature: 0 }, { temperature: 0.9, topK: 40, topP: 0.95, seeds: [11, 12, 13] }]) {
      const batched = await generate(model, prompts, { maxNewTokens: 10, stopAtEos: false, ...opts });
      for (let r = 0; r < prompts.length; r++) {
        const alone = await generate(model, [prompts[r]], { maxNewTokens: 10, stopAtEos: false, ...opts, ...(opts.seeds ? { seeds: [opts.seeds[r]] } : {}) });
        expect(batched.sequences[r].generated).toEqual(alone.sequences[0].generated);
      }
    }
  });

  it('sampling is reproducible from a seed', async () => {
    const a = await generate(model, [[1, 403]], { maxNewTokens: 15, temperature: 1, seed: 3, stopAtEos: false });
    const b = await generate(model, [[1, 403]], { maxNewTokens: 15, temperature: 1, seed: 3, stopAtEos: false });
    const c = await generate(model, [[1, 403]], { maxNewTokens: 15, temperature: 1, seed: 4, stopAtEos: false });
    expect(a.sequences[0].generated).toEqual(b.sequences[0].generated);
    expect(a.sequences[0].generated).not.toEqual(c.sequences[0].generated);
  });

  it('interventions on generated positions start at the first generated token, at its absolute position', async () => {
    const prompts = [[1, 403, 261, 287], [1, 65]];
    const lengths = prompts.map((p) => p.length);
    const seen: number[][] = [];
    const record = { kind: 'function' as const, hook: 'blocks.0.hook_resid_pre', fn: (_t: unknown, step: { positionIds: BigInt64Array; real: Uint8Array }) => { seen.push([...step.positionIds].map(Number)); } };
    const vector = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 8 : -8));
    const steer = (phase: 'generated' | 'all') => ({ kind: 'add' as const, hook: 'blocks.2.hook_resid_pre', value: vector, positions: phasePositions(phase, lengths) });
    const base = await generate(model, prompts, { maxNewTokens: 6, stopAtEos: false, interventions: [record] });
    // Step 1 processes the first generated token of each row at absolute position = prompt length.
    expect(seen[1]).toEqual(lengths);
    const generatedOnly = await generate(model, prompts, { maxNewTokens: 6, stopAtEos: false, interventions: [steer('generated')] });
    const everywhere = await generate(model, prompts, { maxNewTokens: 6, stopAtEos: false, interventions: [steer('all')] });
    for (let r = 0; r < 2; r++) {
      // The first token is predicted from prompt positions only, so "generated" cannot change it; "all" does.
      expect(generatedOnly.sequences[r].generated[0]).toBe(base.sequences[r].generated[0]);
      expect(generatedOnly.sequences[r].generated.slice(1)).not.toEqual(base.sequences[r].generated.slice(1));
      expect(everywhere.sequences[r].generated).not.toEqual(base.sequences[r].generated);
    }
  });
});

const storiesHf = fixture('stories260K-hf');
const TIM = 'Once upon a time, there was a kid named Tim. One day,';

describe.skipIf(storiesHf === null)('continuation text with a SentencePiece tokenizer (stories260K-hf)', () => {
  let model: HookedTransformer;
  beforeAll(async () => { model = await HookedTransformer.load(storiesHf as string); });
  afterAll(async () => { await model.dispose(); });

  it('keeps the leading space: prompt + text reads as the decoded whole', async () => {
    const prompt = model.encode(TIM);
    const seq = (await generate(model, [prompt], { maxNewTokens: 12 })).sequences[0];
    expect(seq.text).toMatch(/^ he found/);
    const tok = model.source.tokenizer as NonNullable<typeof model.source.tokenizer>;
    expect(`${TIM}${seq.text}`).toBe(tok.decode([...prompt, ...seq.generated], true));
  });

  it('looks for stop strings in that same text, leading space included', async () => {
    const prompt = model.encode(TIM);
    const free = (await generate(model, [prompt], { maxNewTokens: 24 })).sequences[0];
    const at = (free.text as string).indexOf(' He');
    expect(at).toBeGreaterThan(0);
    const stopped = (await generate(model, [prompt], { maxNewTokens: 24, stopStrings: [' He'] })).sequences[0];
    expect(stopped.stopReason).toBe('stop_string');
    expect(stopped.text).toBe((free.text as string).slice(0, at));
    // " he" is the very first token's text: only visible when the continuation keeps its space.
    const first = (await generate(model, [prompt], { maxNewTokens: 24, stopStrings: [' he'] })).sequences[0];
    expect(first.generated).toHaveLength(1);
    expect(first.text).toBe('');
  });
});

describe('stopping', () => {
  it('stops at EOS and at stop strings, cutting the text before the stop string', async () => {
    isolateCache();
    const modelDir = mkdtempSync(path.join(tmpdir(), 'interp-gen-'));
    writeRandomModel(modelDir, { family: 'llama', layers: 1, d: 16, heads: 2, kvHeads: 1, dMlp: 24, vocab: 40, theta: 1e4, tied: false, qkvBias: false, modelType: 'llama' }, 3);
    const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
    for (let i = 3; i < 40; i++) vocab[`w${i}`] = i;
    writeFileSync(path.join(modelDir, 'tokenizer.json'), JSON.stringify({
      version: '1.0', truncation: null, padding: null,
      added_tokens: [0, 1, 2].map((id) => ({ id, content: ['<unk>', '<s>', '</s>'][id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null,
      decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
      model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
    }));
    const model = await HookedTransformer.load(modelDir);
    const free = await generate(model, [model.encode('w5 w6')], { maxNewTokens: 20, stopAtEos: false });
    const words = (free.sequences[0].text as string).split(' ');
    expect(free.sequences[0].generated).toHaveLength(20);
    expect(words.length).toBeGreaterThan(4); // special tokens are skipped in the text
    const stopWord = words[3];
    const stopped = await generate(model, [model.encode('w5 w6')], { maxNewTokens: 20, stopAtEos: false, stopStrings: [stopWord] });
    expect(stopped.sequences[0].stopReason).toBe('stop_string');
    expect(stopped.sequences[0].text).not.toContain(stopWord);
    // Declare the third greedy token as EOS: generation must stop right there.
    const eosId = free.sequences[0].generated[2];
    const firstEos = free.sequences[0].generated.indexOf(eosId);
    writeFileSync(path.join(modelDir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: [eosId] }));
    const eosModel = await HookedTransformer.load(modelDir);
    const atEos = await generate(eosModel, [eosModel.encode('w5 w6')], { maxNewTokens: 20 });
    expect(atEos.sequences[0].stopReason).toBe('eos');
    expect(atEos.sequences[0].generated).toEqual(free.sequences[0].generated.slice(0, firstEos + 1));
    await eosModel.dispose();
    await model.dispose();
  });
});
