/**
 * Autoregressive generation with a KV cache: greedy or seeded sampling (temperature, top-k,
 * top-p), batched with left padding, stopping at EOS or stop strings. Interventions apply at
 * every step; their position selectors see absolute positions, so "generated" means positions
 * at or after the prompt's length, and the first generated token (processed at step 1) is
 * covered (CAA #3 skipped it).
 */
import { UsageError } from '../errors.js';
import { ContinuationDecoder, continuationText } from '../model/tokenizer.js';
import type { Intervention, PositionSelector } from './interventions.js';
import type { HookedTransformer, KvCache } from './model.js';
import { mulberry32 } from '../util/random.js';

export interface GenerateOptions {
  readonly maxNewTokens: number;
  /** 0 (default) is greedy decoding. */
  readonly temperature?: number;
  /** Sample among the k most likely tokens (0 or absent: no limit). */
  readonly topK?: number;
  /** Sample from the smallest set whose probability reaches p (1 or absent: no limit). */
  readonly topP?: number;
  /** Seed of row r's sampler is seed + r, so a prompt samples the same alone or in a batch at row r = 0 with seeds[]. */
  readonly seed?: number;
  /** Per-row seeds (overrides seed). */
  readonly seeds?: readonly number[];
  /** Stop a row when it emits an EOS id (default true). */
  readonly stopAtEos?: boolean;
  /** Stop a row when its text (as `text` below: decoded after the prompt) contains one of these; the text is cut before it. */
  readonly stopStrings?: readonly string[];
  readonly interventions?: readonly Intervention[];
}

export type StopReason = 'eos' | 'stop_string' | 'max_tokens';

export interface GeneratedSequence {
  readonly prompt: readonly number[];
  readonly generated: number[];
  readonly stopReason: StopReason;
  /**
   * The continuation's text, decoded in the context of the prompt (continuationText in
   * src/model/tokenizer.ts), so it keeps its leading space with SentencePiece tokenizers and
   * prompt + text reads as the whole; generated special tokens (EOS) are left out. Null without a tokenizer.
   */
  readonly text: string | null;
}

export interface GenerateResult {
  readonly sequences: readonly GeneratedSequence[];
}

/** Selects prompt positions, generated positions, or both, given each row's prompt length. */
export function phasePositions(phase: 'prompt' | 'generated' | 'all', promptLengths: readonly number[]): PositionSelector {
  if (phase === 'all') return 'all';
  return phase === 'prompt' ? (row, pos) => pos < promptLengths[row] : (row, pos) => pos >= promptLengths[row];
}

export async function generate(model: HookedTransformer, prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<GenerateResult> {
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) throw new UsageError(`max new tokens must be a non-negative integer, got ${options.maxNewTokens}`, 'pass --max-new-tokens N');
  const temperature = options.temperature ?? 0;
  if (temperature < 0 || !Number.isFinite(temperature)) throw new UsageError(`temperature must be ≥ 0, got ${temperature}`, 'use 0 for greedy decoding');
  const b = prompts.length;
  const eos = new Set(options.stopAtEos === false ? [] : model.source.generation.eosTokenIds);
  const rngs = prompts.map((_, r) => mulberry32(options.seeds?.[r] ?? (options.seed ?? 0) + r));
  const generated: number[][] = prompts.map(() => []);
  const reasons: (StopReason | null)[] = prompts.map(() => null);
  const texts: (string | null)[] = prompts.map(() => null);
  const tokenizer = model.source.tokenizer;
  // Stop strings are looked for in the same text the result returns, grown one token per step.
  const decoders = tokenizer && options.stopStrings?.length ? prompts.map((p) => new ContinuationDecoder(tokenizer, p)) : null;

  const batch = model.batch(prompts);
  let cache: KvCache | null = null;
  let stepInput = { ids: batch.ids, attention: batch.attention, positionIds: batch.positionIds, batch: b, positions: batch.positions };
  const lengths = prompts.map((p) => p.length);
  for (let stepIndex = 0; stepIndex < options.maxNewTokens; stepIndex++) {
    const out = await model.step(stepInput, { cache, keepCache: true, interventions: options.interventions });
    cache = out.cache;
    const logits = out.logits;
    if (!logits) throw new Error('generate: no logits');
    const [, p, V] = logits.shape;
    const next = new BigInt64Array(b);
    const active = new Uint8Array(b);
    for (let r = 0; r < b; r++) {
      if (reasons[r] !== null) continue;
      const row = logits.data.subarray((r * p + p - 1) * V, (r * p + p) * V);
      const id = temperature === 0 ? argmax(row) : sample(row, temperature, options.topK ?? 0, options.topP ?? 1, rngs[r]);
      generated[r].push(id);
      next[r] = BigInt(id);
      active[r] = 1;
      if (eos.has(id)) reasons[r] = 'eos';
      else if (decoders && options.stopStrings) {
        decoders[r].push([id]);
        const text = decoders[r].text;
        const hit = options.stopStrings.map((s) => text.indexOf(s)).filter((i) => i >= 0);
        if (hit.length) {
          reasons[r] = 'stop_string';
          texts[r] = text.slice(0, Math.min(...hit));
        }
      }
    }
    if (reasons.every((x) => x !== null) || stepIndex === options.maxNewTokens - 1) break;
    // Finished rows keep a masked slot so the batch stays rectangular; their keys are never attended.
    const positionIds = BigInt64Array.from(lengths, (n, r) => BigInt(n + generated[r].length - 1));
    stepInput = { ids: next, attention: active, positionIds, batch: b, positions: 1 };
  }
  return {
    sequences: prompts.map((prompt, r) => ({
      prompt,
      generated: generated[r],
      stopReason: reasons[r] ?? 'max_tokens',
      text: texts[r] ?? (tokenizer ? continuationText(tokenizer, prompt, generated[r]) : null),
    })),
  };
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Samples from softmax(row / temperature) restricted by top-k and top-p (computed in float64). */
function sample(row: Float32Array, temperature: number, topK: number, topP: number, rng: () => number): number {
  const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
  const kept = topK > 0 ? order.slice(0, topK) : order;
  const max = row[kept[0]];
  const weights = kept.map((i) => Math.exp((row[i] - max) / temperature));
  const total = weights.reduce((a, w) => a + w, 0);
  let cut = kept.length;
  if (topP < 1) {
    let acc = 0;
    for (let j = 0; j < kept.length; j++) {
      acc += weights[j] / total;
      if (acc >= topP) {
        cut = j + 1;
        break;
      }
    }
  }
  const mass = weights.slice(0, cut).reduce((a, w) => a + w, 0);
  let u = rng() * mass;
  for (let j = 0; j < cut; j++) {
    u -= weights[j];
    if (u <= 0) return kept[j];
  }
  return kept[cut - 1];
}

