/**
 * Matching latents to known attributes: a latent that is exactly an attribute's indicator gets
 * F1 = 1 (precision and recall 1) and is chosen over latents that merely overlap; BOS rows are
 * not scored; counts follow their definitions; TinyWorld's labeler gives the generator's own
 * labels per token and refuses text outside the grammar; its next-word labeling marks a token
 * exactly when the next word expresses a value the story already holds.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureWriter } from '../../src/store/index.js';
import { generateStory, labelText } from '../../datasets/tinyworld/index.js';
import { AttributeCounter, bestMatches, matchAttributes, type TokenLabeler } from '../../sae/attributes.js';
import { tinyworldLabeler, tinyworldNextWordLabeler } from '../../datasets/tinyworld/providers.js';
import type { Sae } from '../../sae/sae.js';

const HOOK = 'blocks.1.hook_resid_post';
const D = 4;

/** "color=red" holds from the token "red" to the end of its sequence; "color=blue" likewise. */
const colorLabeler: TokenLabeler = {
  name: 'toy',
  attributes: ['color=red', 'color=blue'],
  label(tokens) {
    let state: number[] = [];
    return tokens.map((t) => {
      if (t === 'red') state = [0];
      if (t === 'blue') state = [1];
      return t === '<bos>' ? [] : state;
    });
  },
};

/** f = relu(x): latent i reads dimension i. */
function identitySae(): Sae {
  const W = new Float32Array(D * D);
  for (let i = 0; i < D; i++) W[i * D + i] = 1;
  return {
    cfg: {
      architecture: 'relu', d_in: D, d_sae: D, k: null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: false, normalize_activations: 'none', reshape_activations: 'none',
      metadata: { sae_lens_version: '6.0.0', model_name: 'toy', hook_name: HOOK, hook_head_index: null, context_size: 16, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
    },
    weights: { W_enc: W, W_dec: W, b_enc: new Float32Array(D), b_dec: new Float32Array(D), threshold: null },
  };
}

/**
 * 30 sequences "<bos> a b red c d" or "<bos> a blue b c d"; x[0] = red indicator (and 5 on BOS,
 * which must not count), x[1] = fires on every token, x[2] = red indicator on half of its tokens,
 * x[3] = blue indicator shifted one token late.
 */
function writeColorCapture(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'interp-attr-'));
  const seq: number[] = [];
  const pos: number[] = [];
  const tokens: string[] = [];
  const x: number[] = [];
  for (let s = 0; s < 30; s++) {
    const words = s % 2 ? ['<bos>', 'a', 'b', 'red', 'c', 'd'] : ['<bos>', 'a', 'blue', 'b', 'c', 'd'];
    const held = colorLabeler.label(words) as number[][];
    words.forEach((w, t) => {
      const red = held[t].includes(0) ? 1 : 0;
      const blueLate = t > 0 && held[t - 1].includes(1) ? 1 : 0;
      seq.push(s);
      pos.push(t);
      tokens.push(w);
      x.push(t === 0 ? 5 : red, 0.5, red && t % 2 ? 1 : 0, blueLate);
    });
  }
  const w = CaptureWriter.open(dir, {
    model: { id: 'toy', dir: '/nonexistent/toy', hash: 'h', revision: null, family: 'llama', weights: 'raw' },
    dataset: { path: 'toy.jsonl', sha256: 's', sequences: 30 }, hooks: [{ name: HOOK, d: D }], dtype: 'f32',
    policy: { prependBos: true, paddingSide: 'left', maxTokens: null }, positions: 'all', context: 16, seed: 0,
    command: ['test'], versions: { interp: '0', onnxruntime: '0', node: '0' }, label_columns: [],
  }, { shardRows: 50, recordBatchRows: 17 });
  w.append({ seq: Int32Array.from(seq), pos: Int32Array.from(pos), tokenId: Int32Array.from(tokens, (t) => (t === '<bos>' ? 1 : 4 + t.length)), token: tokens, hooks: { [HOOK]: Float32Array.from(x) } });
  w.finish({ sequencesDone: 30 });
  return dir;
}

describe('bestMatches', () => {
  it('a latent equal to the attribute indicator has F1 = 1 and wins', () => {
    // 2 attributes × 3 latents; 10 tokens; attribute 0 holds on 4 tokens, latent 1 fires exactly there.
    const tp = Float64Array.from([2, 4, 4, /* attribute 1: */ 0, 0, 3]);
    const fires = Float64Array.from([3, 4, 10, 0].slice(0, 3));
    const positives = Float64Array.from([4, 6]);
    const [a0, a1] = bestMatches(['a0', 'a1'], tp, fires, positives);
    expect(a0).toMatchObject({ attribute: 'a0', latent: 1, f1: 1, precision: 1, recall: 1, truePositives: 4 });
    expect(a1.latent).toBe(2);
    expect(a1.f1).toBeCloseTo((2 * 3) / (10 + 6), 12);
    expect(a1.precision).toBeCloseTo(0.3, 12);
    expect(a1.recall).toBeCloseTo(0.5, 12);
  });

  it('an attribute no latent fires with has no match', () => {
    const [m] = bestMatches(['never'], new Float64Array(3), Float64Array.from([1, 2, 3]), Float64Array.from([5]));
    expect(m).toMatchObject({ latent: null, f1: 0, positives: 5 });
  });
});

describe('matchAttributes', () => {
  it('finds the indicator latent with F1 = 1 over a capture, BOS rows not scored', async () => {
    const report = await matchAttributes(identitySae(), writeColorCapture(), colorLabeler, { batchRows: 8, ignoreTokenIds: [1] });
    expect(report.sequences).toBe(30);
    expect(report.tokens).toBe(30 * 5);
    const [red, blue] = report.matches;
    expect(red).toMatchObject({ attribute: 'color=red', latent: 0, f1: 1, precision: 1, recall: 1, positives: 15 * 3, fires: 15 * 3 });
    // Blue holds on 4 tokens per blue sequence; latent 3 fires on the last 3 of them plus none else.
    expect(blue.latent).toBe(3);
    expect(blue.precision).toBe(1);
    expect(blue.recall).toBeCloseTo(3 / 4, 12);
  });

  it('counts BOS when it is not ignored: the BOS outlier costs latent 0 its precision and the match', async () => {
    const report = await matchAttributes(identitySae(), writeColorCapture(), colorLabeler, { ignoreTokenIds: [] });
    expect(report.tokens).toBe(30 * 6);
    // Latent 0 now fires on 30 BOS rows too: F1 = 2·45 / (75 + 45) = 0.75 < latent 2's 2·30 / (30 + 45) = 0.8.
    expect(report.matches[0]).toMatchObject({ latent: 2, precision: 1 });
    expect(report.matches[0].f1).toBeCloseTo(0.8, 12);
  });

  it('AttributeCounter skips sequences the labeler cannot label', () => {
    const refuse: TokenLabeler = { name: 'refuse', attributes: ['x'], label: () => null };
    const c = new AttributeCounter(refuse, 2);
    c.sequence({ seq: 0, tokens: ['a'], tokenIds: Int32Array.of(5), pos: Int32Array.of(0), counted: Uint8Array.of(1), rows: [{ idx: Int32Array.of(0), val: Float32Array.of(1) }] });
    expect(c.result()).toMatchObject({ sequences: 0, skippedSequences: 1, tokens: 0 });
  });
});

describe('tinyworldLabeler', () => {
  it("labels a story's tokens with the generator's own labels, BOS with nothing", () => {
    const story = generateStory(12);
    const words = labelText(story.text)?.words as string[];
    const held = tinyworldLabeler.label(['<bos>', ...words]);
    expect(held).not.toBeNull();
    const attrs = tinyworldLabeler.attributes;
    const names = (held as number[][]).map((h) => h.map((i) => attrs[i]));
    expect(names[0]).toEqual([]);
    const labels = labelText(story.text)?.labels ?? [];
    labels.forEach((l, i) => {
      if (l.mood) expect(names[i + 1]).toContain(`mood=${l.mood}`);
      if (l.species) expect(names[i + 1]).toContain(`species=${l.species}`);
      expect(names[i + 1].includes('negated=true')).toBe(l.negated);
    });
    expect(attrs).toContain('food=cheese');
    expect(attrs).toContain('place=river');
    expect(new Set(attrs).size).toBe(attrs.length);
  });

  it('refuses text outside the grammar', () => {
    expect(tinyworldLabeler.label(['<bos>', 'cheese', 'Once', 'upon'])).toBeNull();
  });
});

/**
 * A hand-written story: a cat named Tom by the park on a rainy day, happy, who does not like
 * cheese. Token i is word i - 1 (token 0 is <bos>).
 */
const TOM = ('Once upon a time , there was a cat named Tom . Tom lived near the park . It was a rainy day , and the rain fell softly . ' +
  'He was happy . The cat purred . He smiled . Tom found some cheese . He did not like the cheese . So he did not eat it . ' +
  'At the end of the day , Tom went home happily . The end .').split(' ');

/** Attribute names per token of `tokens`, only where some attribute holds. */
function named(labeler: TokenLabeler, tokens: readonly string[]): Record<number, string[]> {
  const held = labeler.label(tokens);
  expect(held).not.toBeNull();
  return Object.fromEntries((held as number[][]).flatMap((h, t) => (h.length > 0 ? [[t, h.map((a) => labeler.attributes[a])]] : [])));
}

describe('tinyworldNextWordLabeler', () => {
  it('marks exactly the tokens before a word expressing a value the story already holds', () => {
    expect(named(tinyworldNextWordLabeler, ['<bos>', ...TOM])).toEqual({
      12: ['name=Tom'], // ". Tom lived" (not "named Tom": the name is not known before it)
      26: ['weather=rainy'], // "the rain fell", after "a rainy day" (not "a rainy")
      30: ['gender=male'], // ". He was" (not "was happy": the first mood word reveals the mood)
      35: ['species=cat'], // "The cat"
      36: ['species=cat'], // "cat purred"
      38: ['gender=male'],
      39: ['mood=happy'], // "He smiled"
      41: ['name=Tom'],
      46: ['gender=male'], // ". He did" (not "He did": liking is not known before "did")
      48: ['negated=true'], // "did not"
      51: ['food=cheese'], // "like the cheese" (not "some cheese")
      54: ['gender=male'], // "So he"
      55: ['likes_food=false'], // "he did not eat": the dislike is known by now
      56: ['negated=true'],
      67: ['name=Tom'], // ", Tom went"
      70: ['mood=happy'], // "home happily"
    });
    // The story-state labeling holds name=Tom from "Tom" (token 11) to the end instead.
    const state = named(tinyworldLabeler, ['<bos>', ...TOM]);
    expect(Object.keys(state).filter((t) => state[Number(t)].includes('name=Tom')).map(Number)).toEqual(Array.from({ length: TOM.length - 10 }, (_, i) => 11 + i));
  });

  it('refuses text outside the grammar, and leaves "laughed at" (a cause of anger) and "a goat ate" out', () => {
    expect(tinyworldNextWordLabeler.label(['<bos>', 'cheese', 'Once', 'upon'])).toBeNull();
    for (let seed = 0; seed < 200; seed++) {
      const story = generateStory(seed);
      const words = story.words.slice(0, -1);
      const held = tinyworldNextWordLabeler.label(['<bos>', ...words]) as number[][];
      words.forEach((w, i) => {
        const attrs = held[i].map((a) => tinyworldNextWordLabeler.attributes[a]); // token i is word i - 1; its next word is w
        if (w === 'laughed' && words[i + 1] === 'at') expect(attrs.some((a) => a.startsWith('mood='))).toBe(false);
        if (w === 'ate' && words[i + 1] !== 'all') expect(attrs.some((a) => a.startsWith('likes_food='))).toBe(false);
      });
    }
  });

  it('scores F1 per token over a sequence: a latent firing on every "He" position and once more has F1 8/9', () => {
    const tokens = ['<bos>', ...TOM];
    const male = [30, 38, 46, 54];
    const counted = Uint8Array.from(tokens, (_, t) => (t === 0 ? 0 : 1));
    // Latent 0 fires before each "He"/"he" and on token 33 ("." before "The"); latent 1 fires everywhere; latent 2 never.
    const rows = tokens.map((_, t) => {
      if (t === 0) return { idx: new Int32Array(0), val: new Float32Array(0) };
      const on = [...(male.includes(t) || t === 33 ? [0] : []), 1];
      return { idx: Int32Array.from(on), val: Float32Array.from(on, () => 1) };
    });
    const c = new AttributeCounter(tinyworldNextWordLabeler, 3);
    c.sequence({ seq: 0, tokens, tokenIds: new Int32Array(tokens.length), pos: Int32Array.from(tokens, (_, t) => t), counted, rows });
    const report = c.result();
    expect(report).toMatchObject({ labeler: 'tinyworld-next-word', tokens: TOM.length, sequences: 1 });
    const byName = new Map(report.matches.map((m) => [m.attribute, m]));
    const g = byName.get('gender=male');
    expect(g).toMatchObject({ latent: 0, positives: 4, fires: 5, truePositives: 4, precision: 0.8, recall: 1 });
    expect(g?.f1).toBeCloseTo(8 / 9, 12);
    // name=Tom holds on 3 tokens; only the always-on latent overlaps: F1 = 2·3 / (75 + 3).
    expect(byName.get('name=Tom')?.latent).toBe(1);
    expect(byName.get('name=Tom')?.f1).toBeCloseTo(6 / (TOM.length + 3), 12);
    // place is named once, where it is revealed, so it never holds.
    expect(byName.get('place=park')).toMatchObject({ latent: null, positives: 0, f1: 0 });
  });
});
