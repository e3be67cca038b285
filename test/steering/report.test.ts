/**
 * The steering report's side-by-side text: baseline and steered continuations are shown token by
 * token as they read after the prompt, so a SentencePiece word-start marker ("▁he") is a space,
 * the first generated token's included. Rendered from a hand-made SteerResult (no model runs).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTokenizer } from '../../src/model/tokenizer.js';
import type { PromptOutcome, SteerResult } from '../../steering/steer.js';
import { writeSteerReport } from '../../steering/report.js';
import { metaspaceBpeJson } from '../model/helpers.js';

const tok = createTokenizer(metaspaceBpeJson('sequence'), {}, 'metaspace/tokenizer.json');

/** `baselineLength`: KL is measured on the baseline continuation, one value per baseline token. */
function outcome(generated: number[], baselineLength = generated.length): PromptOutcome {
  return { generated, text: null, behavior: null, success: null, kl: new Float32Array(baselineLength), monitor: null };
}

/** The text of every token span in the page, in order. */
function spans(page: string): string[] {
  return [...page.matchAll(/<span class="tok[^"]*"[^>]*>([^<]*)<\/span>/g)].map((m) => m[1]);
}

describe('steering report: baseline vs steered', () => {
  it('keeps the leading space of each continuation and of its words', async () => {
    const prompt = [1, ...tok.encode('hello world,')];
    const base = tok.encode(' he found the world');
    const steered = tok.encode(' he found hello');
    const result: SteerResult = {
      prompts: [prompt],
      baseline: { prompts: [outcome(base)], behavior: null, successRate: null, neutralCe: null },
      arms: [{
        label: 'blocks.0.hook_resid_post', hooks: ['blocks.0.hook_resid_post'], knee: null, frontier: [0], steerability: null,
        results: [{ coeff: { units: 'raw', value: 2 }, behavior: null, successRate: null, kl: 0, neutral: null, prompts: [outcome(steered, base.length)] }],
      }],
      control: null,
      best: 0,
    };
    const reports = mkdtempSync(path.join(tmpdir(), 'interp-steer-report-'));
    const file = await writeSteerReport({ run: 'spaces', manifest: { command: 'test' }, result, cards: [], tokenizer: tok, ceBudget: 0.3, behavior: null, monitorThreshold: null }, reports);
    const page = readFileSync(file, 'utf8');
    expect(spans(page)).toEqual([' he', ' found', ' the', ' world', ' he', ' found', ' hello']);
    expect(page).toContain('&lt;s&gt; hello world,'); // the prompt as its title
  });
});
