/**
 * Contrastive pair sets: JSONL with one pair of texts per line, `{"positive": "...", "negative":
 * "..."}` (field names configurable; other fields are ignored), or a named dataset a provider
 * serves (src/dataset/providers.ts), such as `tinyworld:pairs-happy-sad`. The whole file is validated before anything runs.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { datasetProviderFor, namedDatasetLines } from '../src/dataset/providers.js';
import { FileFormatError, UsageError } from '../src/errors.js';

export interface TextPair {
  readonly positive: string;
  readonly negative: string;
}

export interface PairSet {
  /** Absolute path, or a named dataset (`tinyworld:NAME`). */
  readonly source: string;
  readonly sha256: string;
  readonly pairs: readonly TextPair[];
}

export interface PairFields {
  readonly positive: string;
  readonly negative: string;
}

/** Reads a pair set; `limit` keeps the first pairs only. */
export function loadPairs(arg: string, fields: PairFields = { positive: 'positive', negative: 'negative' }, limit?: number): PairSet {
  let content: string;
  let source: string;
  if (datasetProviderFor(arg)) {
    content = namedDatasetLines(arg).join('\n');
    source = arg;
  } else {
    source = path.resolve(arg);
    if (!existsSync(source)) throw new UsageError(`pair set ${source} does not exist`, 'pass a JSONL file with {"positive": ..., "negative": ...} per line, or tinyworld:pairs-happy-sad');
    content = readFileSync(source, 'utf8');
  }
  const pairs: TextPair[] = [];
  content.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    const where = `${source}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new FileFormatError(`${where}: not valid JSON (${(e as Error).message})`, `each line must be one JSON object with "${fields.positive}" and "${fields.negative}"`);
    }
    const rec = (typeof obj === 'object' && obj !== null ? obj : {}) as Record<string, unknown>;
    const pos = rec[fields.positive];
    const neg = rec[fields.negative];
    if (typeof pos !== 'string' || typeof neg !== 'string') throw new FileFormatError(`${where}: needs string fields "${fields.positive}" and "${fields.negative}"`, 'give both texts of the pair, or name the fields with --positive-field / --negative-field');
    pairs.push({ positive: pos, negative: neg });
  });
  if (pairs.length === 0) throw new FileFormatError(`${source}: no pairs`, 'give one JSON object per line');
  return { source, sha256: createHash('sha256').update(content).digest('hex'), pairs: limit === undefined ? pairs : pairs.slice(0, limit) };
}
