/**
 * Datasets as users give them: JSONL where each line has `text` or `token_ids` and any other
 * fields become label columns (string, number or boolean), or plain text with one document per
 * line. The whole file is validated before anything runs, so a bad line stops the run before a
 * single row is written; errors read `file:line: reason`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, UsageError } from '../errors.js';

/** A label value; null where a line lacks the field. */
export type LabelValue = string | number | boolean | null;

export type LabelType = 'string' | 'number' | 'boolean';

export interface LabelColumn {
  readonly name: string;
  readonly type: LabelType;
}

/** One document: text to tokenize (under the TokenizerPolicy) or token ids used exactly as given. */
export type DatasetRecord =
  | { readonly kind: 'text'; readonly text: string; readonly labels: Readonly<Record<string, LabelValue>>; readonly line: number }
  | { readonly kind: 'ids'; readonly ids: readonly number[]; readonly labels: Readonly<Record<string, LabelValue>>; readonly line: number };

export interface Dataset {
  /** Where it came from: an absolute path, or a name such as `tinyworld:mood`. */
  readonly source: string;
  /** sha256 of the bytes, recorded in manifests so a resume can tell datasets apart. */
  readonly sha256: string;
  readonly records: readonly DatasetRecord[];
  readonly labelColumns: readonly LabelColumn[];
}

/** Parses JSONL or plain-text content; `source` names it in messages. */
export function parseDataset(content: string, source: string, format: 'jsonl' | 'text'): Dataset {
  const sha256 = createHash('sha256').update(content).digest('hex');
  const lines = content.split(/\r?\n/);
  const records: DatasetRecord[] = [];
  if (format === 'text') {
    lines.forEach((text, i) => { if (text.trim() !== '') records.push({ kind: 'text', text, labels: {}, line: i + 1 }); });
    if (records.length === 0) throw new FileFormatError(`${source}: no documents (every line is empty)`, 'give a text file with one document per line');
    return { source, sha256, records, labelColumns: [] };
  }
  const types = new Map<string, { type: LabelType; line: number }>();
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const where = `${source}:${line}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new FileFormatError(`${where}: not valid JSON (${(e as Error).message})`, 'each line must be one JSON object, e.g. {"text": "...", "label": "happy"}');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FileFormatError(`${where}: expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`, 'each line must be one JSON object with "text" or "token_ids"');
    const obj = value as Record<string, unknown>;
    const hasText = 'text' in obj;
    const hasIds = 'token_ids' in obj;
    if (hasText === hasIds) throw new FileFormatError(`${where}: needs exactly one of "text" and "token_ids"`, 'give the document as "text" (a string) or "token_ids" (an array of integers)');
    const labels: Record<string, LabelValue> = {};
    for (const [key, v] of Object.entries(obj)) {
      if (key === 'text' || key === 'token_ids') continue;
      if (v === null) { labels[key] = null; continue; }
      const type = typeof v;
      if (type !== 'string' && type !== 'number' && type !== 'boolean') throw new FileFormatError(`${where}: label "${key}" is ${Array.isArray(v) ? 'an array' : type}; labels must be strings, numbers or booleans`, `flatten "${key}" into scalar fields`);
      if (type === 'number' && !Number.isFinite(v)) throw new FileFormatError(`${where}: label "${key}" is not a finite number`, 'fix the value');
      const seen = types.get(key);
      if (seen && seen.type !== type) throw new FileFormatError(`${where}: label "${key}" is a ${type} here but a ${seen.type} on line ${seen.line}`, `give "${key}" one type on every line`);
      if (!seen) types.set(key, { type: type as LabelType, line });
      labels[key] = v as LabelValue;
    }
    if (hasText) {
      if (typeof obj.text !== 'string') throw new FileFormatError(`${where}: "text" must be a string`, 'fix the line');
      records.push({ kind: 'text', text: obj.text, labels, line });
    } else {
      const ids = obj.token_ids;
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => Number.isInteger(x) && x >= 0)) throw new FileFormatError(`${where}: "token_ids" must be a non-empty array of non-negative integers`, 'fix the line');
      records.push({ kind: 'ids', ids: ids as number[], labels, line });
    }
  });
  if (records.length === 0) throw new FileFormatError(`${source}: no records (the file is empty)`, 'give one JSON object per line');
  const labelColumns = [...types.entries()].map(([name, t]) => ({ name, type: t.type }));
  return { source, sha256, records, labelColumns };
}

/** Reads a dataset file: `.jsonl`/`.json` as JSONL, anything else as plain text. */
export function readDatasetFile(file: string): Dataset {
  const abs = path.resolve(file);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new UsageError(`dataset ${abs} does not exist`, 'pass a JSONL file (one {"text": ...} per line), a text file, or a name such as tinyworld:mood');
  const format = /\.(jsonl|json|ndjson)$/i.test(abs) ? 'jsonl' : 'text';
  return parseDataset(readFileSync(abs, 'utf8'), abs, format);
}
