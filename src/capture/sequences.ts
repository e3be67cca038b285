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

export function prepareSequences(model: HookedTransformer, dataset: Dataset, options: SequenceOptions): CaptureSequence[] {
  const context = options.context ?? model.config.nCtx;
  if (context > model.config.nCtx) throw new UsageError(`--context ${context} exceeds the model's context length ${model.config.nCtx}`, `pass --context ${model.config.nCtx} or less`);
  const bos = model.source.generation.bosTokenId;
  const out: CaptureSequence[] = [];
  let rows = 0;
  for (const record of dataset.records) {
    const where = `${dataset.source}:${record.line}`;
    const ids = record.kind === 'text' ? model.encode(record.text) : record.ids;
    if (ids.length === 0) continue;
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
    for (const chunk of chunks) {
      let keep: number[] | 'mean';
      switch (options.positions.kind) {
        case 'all': keep = chunk.map((_, i) => i); break;
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
      const n = keep === 'mean' ? 1 : keep.length;
      if (options.maxTokens !== null && rows + n > options.maxTokens && out.length > 0) return out;
      out.push({ ids: chunk, labels: record.labels, keep });
      rows += n;
      if (options.maxTokens !== null && rows >= options.maxTokens) return out;
    }
  }
  if (out.length === 0) throw new FileFormatError(`${dataset.source}: no tokens to capture`, 'give documents with at least one token');
  return out;
}
