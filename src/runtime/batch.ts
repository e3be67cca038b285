/**
 * Turning prompts into model inputs under an explicit TokenizerPolicy, the way TransformerLens
 * does by default: BOS prepended (once: a prompt that already starts with it gets no second one,
 * TransformerLens #369), left padding, and position ids that follow the attention mask so that
 * padding never shifts a real token's position (TransformerLens #1609).
 * Shapes: b = batch, p = positions of this step, t = all key positions (past + p).
 */
import { UsageError } from '../errors.js';
import type { Tokenizer } from '../model/index.js';

/** How text becomes token ids; recorded in every artifact. */
export interface TokenizerPolicy {
  /** Prepend the model's BOS token to text prompts (TransformerLens default: true). Never applied to given token ids. */
  readonly prependBos: boolean;
  /** Where padding goes in a batch; left keeps the last real token at the end of every row. */
  readonly paddingSide: 'left' | 'right';
  /** Keep at most this many tokens per prompt (after BOS), cutting from the end; null: no limit. */
  readonly maxTokens: number | null;
}

export const DEFAULT_POLICY: TokenizerPolicy = { prependBos: true, paddingSide: 'left', maxTokens: null };

/** Encodes a text prompt under the policy. */
export function encodePrompt(tokenizer: Tokenizer, text: string, policy: TokenizerPolicy, bosId: number | null): number[] {
  let ids = tokenizer.encode(text);
  if (policy.prependBos && bosId !== null && ids[0] !== bosId) ids = [bosId, ...ids];
  if (policy.maxTokens !== null && ids.length > policy.maxTokens) ids = ids.slice(0, policy.maxTokens);
  return ids;
}

/** A padded batch. Row r's real tokens sit at padded positions [pad[r], pad[r] + lengths[r]) for left padding. */
export interface TokenBatch {
  readonly batch: number;
  /** Padded length of every row. */
  readonly positions: number;
  /** Token ids, [b, p] row-major; padding holds padId. */
  readonly ids: BigInt64Array;
  /** 1 for real tokens, 0 for padding, [b, p]. */
  readonly attention: Uint8Array;
  /** Position of each token counting real tokens only (padding gets 0), [b, p]. */
  readonly positionIds: BigInt64Array;
  /** Real token count per row. */
  readonly lengths: readonly number[];
  /** Padded index of each row's first real token. */
  readonly offsets: readonly number[];
  readonly paddingSide: 'left' | 'right';
}

/** Pads sequences into one batch. Throws on an empty batch, an empty row, or ids outside the vocabulary. */
export function makeBatch(seqs: readonly (readonly number[])[], padId: number, vocabSize: number, side: 'left' | 'right' = 'left'): TokenBatch {
  if (seqs.length === 0) throw new UsageError('no prompts given', 'pass at least one prompt');
  const p = Math.max(...seqs.map((s) => s.length));
  if (p === 0) throw new UsageError('every prompt is empty', 'give prompts with at least one token');
  const b = seqs.length;
  const ids = new BigInt64Array(b * p).fill(BigInt(padId));
  const attention = new Uint8Array(b * p);
  const positionIds = new BigInt64Array(b * p);
  const offsets: number[] = [];
  seqs.forEach((seq, r) => {
    if (seq.length === 0) throw new UsageError(`prompt ${r} has no tokens`, 'remove empty prompts or enable prepend_bos');
    const off = side === 'left' ? p - seq.length : 0;
    offsets.push(off);
    seq.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new UsageError(`prompt ${r}, token ${j}: id ${id} is outside the vocabulary [0, ${vocabSize})`, 'check the token ids against this model\'s tokenizer');
      }
      ids[r * p + off + j] = BigInt(id);
      attention[r * p + off + j] = 1;
      positionIds[r * p + off + j] = BigInt(j);
    });
  });
  return { batch: b, positions: p, ids, attention, positionIds, lengths: seqs.map((s) => s.length), offsets, paddingSide: side };
}

/**
 * The boolean attention mask [b, 1, p, t] for a step whose queries are the last p of t keys:
 * query i of row r sees key j iff key j is real (keyAttention[r, j] = 1), j ≤ (t − p) + i, and,
 * with a sliding window w, (t − p) + i − j < w. `keyAttention` is [b, t].
 */
export function attentionMask(keyAttention: Uint8Array, b: number, p: number, t: number, slidingWindow: number | null = null): Uint8Array {
  const mask = new Uint8Array(b * p * t);
  const past = t - p;
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < p; i++) {
      const q = past + i;
      const lo = slidingWindow === null ? 0 : Math.max(0, q - slidingWindow + 1);
      for (let j = lo; j <= q; j++) mask[(r * p + i) * t + j] = keyAttention[r * t + j];
    }
  }
  return mask;
}
