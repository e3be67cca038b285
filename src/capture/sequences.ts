/**
 * From dataset records to the token sequences a capture runs, and which positions of each it
 * keeps. Text goes through the model's TokenizerPolicy (BOS once); token_ids are used exactly
 * as given. With `context`, documents longer than the context are cut into chunks (positions
 * all/mean: every chunk is kept; with prepend_bos each later chunk starts with BOS, as
 * TransformerLens' tokenize_and_concatenate) or truncated (last/field: the kept token must fit).
 */
import { FileFormatError, UsageError } from '../errors.js';
import type { Dataset, LabelValue } from '../dataset/load.js';
import type { HookedTransformer } from '../runtime/model.js';

/** Which tokens of a sequence become rows: every token, the last, the mean over tokens, or the index in a label field. */
export type PositionMode = { readonly kind: 'all' } | { readonly kind: 'last' } | { readonly kind: 'mean' } | { readonly kind: 'field'; readonly field: string };

export function parsePositionMode(value: string, dataset: Dataset): PositionMode {
  if (value === 'all' || value === 'last' || value === 'mean') return { kind: value };
  const column = dataset.labelColumns.find((c) => c.name === value);
  if (!column || column.type !== 'number') {
    const numeric = dataset.labelColumns.filter((c) => c.type === 'number').map((c) => c.name);
    throw new UsageError(`--positions ${value}: not all, last, mean, or a numeric field of ${dataset.source}`, `use all, last, mean${numeric.length ? ` or one of ${numeric.join(', ')}` : ''}`);
  }
  return { kind: 'field', field: value };
}

export function positionModeName(mode: PositionMode): string {
  return mode.kind === 'field' ? `field:${mode.field}` : mode.kind;
}

export interface CaptureSequence {
  readonly ids: readonly number[];
  readonly labels: Readonly<Record<string, LabelValue>>;
  /** Kept token indices (ascending), or 'mean' for one averaged row. */
  readonly keep: readonly number[] | 'mean';
}

export interface SequenceOptions {
  readonly positions: PositionMode;
  /** Longest sequence fed to the model; null: the model's context length. */
  readonly context: number | null;
  /** Stop after this many kept rows (at a sequence boundary); null: no limit. */
  readonly maxTokens: number | null;
}

/**
 * The sequences of a capture without their tokens: holding every token id (and every kept index)
 * of a large dataset would make a capture's memory grow with its token count, so a first pass
 * tokenizes each record once to count sequences and tokens, keeping only (record, chunk, length)
 * per sequence, and `slice` tokenizes a batch's records again when that batch runs (tokenizing
 * twice costs about 2% of a capture's time).
 */
export interface SequencePlan {
  /** Sequences. */
  readonly length: number;
  /** Tokens over all sequences (what the model runs, not the rows kept). */
  readonly tokens: number;
  /** Tokens of sequences [start, end). */
  tokensIn(start: number, end: number): number;
  /** Sequences [start, end), tokenized now. */
  slice(start: number, end: number): CaptureSequence[];
}

export function planSequences(model: HookedTransformer, dataset: Dataset, options: SequenceOptions): SequencePlan {
  const context = options.context ?? model.config.nCtx;
  if (context > model.config.nCtx) throw new UsageError(`--context ${context} exceeds the model's context length ${model.config.nCtx}`, `pass --context ${model.config.nCtx} or less`);
  const bos = model.source.generation.bosTokenId;
  /** The sequences of record i: its chunks and the token indices each keeps. */
  const sequencesOf = (i: number, ids: readonly number[]): CaptureSequence[] => {
    const record = dataset.records[i];
    const where = `${dataset.source}:${record.line}`;
    const chunks: number[][] = [];
    if (options.positions.kind === 'all' || options.positions.kind === 'mean') {
      const withBos = record.kind === 'text' && model.policy.prependBos && bos !== null && ids[0] === bos;
      chunks.push(ids.slice(0, context));
      for (let start = context; start < ids.length;) {
        const room = withBos ? context - 1 : context;
        const piece = ids.slice(start, start + room);
        chunks.push(withBos ? [bos as number, ...piece] : piece);
        start += room;
      }
    } else {
      chunks.push(ids.slice(0, context));
    }
    return chunks.map((chunk) => {
      let keep: number[] | 'mean';
      switch (options.positions.kind) {
        case 'all': keep = chunk.map((_, k) => k); break;
        case 'mean': keep = 'mean'; break;
        case 'last': keep = [chunk.length - 1]; break;
        case 'field': {
          const value = record.labels[options.positions.field];
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= chunk.length) {
            throw new FileFormatError(`${where}: "${options.positions.field}" = ${JSON.stringify(value)} is not a token index of this sequence (${chunk.length} tokens${chunk.length < ids.length ? ` after truncation to --context ${context}` : ''}, BOS included)`, 'give the 0-based index of the token to keep, counting the BOS the policy prepends');
          }
          keep = [value];
          break;
        }
      }
      return { ids: chunk, labels: record.labels, keep };
    });
  };
  const encode = (i: number): readonly number[] => {
    const record = dataset.records[i];
    return record.kind === 'text' ? model.encode(record.text) : record.ids;
  };
  // Per sequence: its record, which chunk of that record, and its length (12 bytes each).
  const recordOf: number[] = [];
  const chunkOf: number[] = [];
  const lengthOf: number[] = [];
  let rows = 0;
  plan: for (let i = 0; i < dataset.records.length; i++) {
    const ids = encode(i);
    if (ids.length === 0) continue;
    const sequences = sequencesOf(i, ids);
    for (let c = 0; c < sequences.length; c++) {
      const s = sequences[c];
      const n = s.keep === 'mean' ? 1 : s.keep.length;
      if (options.maxTokens !== null && rows + n > options.maxTokens && recordOf.length > 0) break plan;
      recordOf.push(i);
      chunkOf.push(c);
      lengthOf.push(s.ids.length);
      rows += n;
      if (options.maxTokens !== null && rows >= options.maxTokens) break plan;
    }
  }
  if (recordOf.length === 0) throw new FileFormatError(`${dataset.source}: no tokens to capture`, 'give documents with at least one token');
  const lengths = Int32Array.from(lengthOf);
  const records = Int32Array.from(recordOf);
  const chunks = Int32Array.from(chunkOf);
  const tokensIn = (start: number, end: number): number => {
    let t = 0;
    for (let k = Math.max(0, start); k < Math.min(end, lengths.length); k++) t += lengths[k];
    return t;
  };
  return {
    length: lengths.length,
    tokens: tokensIn(0, lengths.length),
    tokensIn,
    slice(start, end) {
      const out: CaptureSequence[] = [];
      let cached: { record: number; sequences: CaptureSequence[] } | null = null;
      for (let k = Math.max(0, start); k < Math.min(end, lengths.length); k++) {
        if (cached?.record !== records[k]) cached = { record: records[k], sequences: sequencesOf(records[k], encode(records[k])) };
        out.push(cached.sequences[chunks[k]]);
      }
      return out;
    },
  };
}

/** Every sequence of the capture, tokenized (memory grows with the dataset: runCapture uses planSequences). */
export function prepareSequences(model: HookedTransformer, dataset: Dataset, options: SequenceOptions): CaptureSequence[] {
  const plan = planSequences(model, dataset, options);
  return plan.slice(0, plan.length);
}
