import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDataset, readDatasetFile } from '../../src/dataset/load.js';
import { InterpError } from '../../src/errors.js';

describe('datasets', () => {
  it('reads text and token_ids records with typed label columns', () => {
    const ds = parseDataset('{"text":"the cat","mood":"happy","n":2}\n\n{"token_ids":[1,2,3],"mood":"sad","flag":true}\n', 'd.jsonl', 'jsonl');
    expect(ds.records).toHaveLength(2);
    expect(ds.records[0]).toMatchObject({ kind: 'text', text: 'the cat', labels: { mood: 'happy', n: 2 }, line: 1 });
    expect(ds.records[1]).toMatchObject({ kind: 'ids', ids: [1, 2, 3], line: 3 });
    expect(ds.labelColumns).toEqual([{ name: 'mood', type: 'string' }, { name: 'n', type: 'number' }, { name: 'flag', type: 'boolean' }]);
    expect(ds.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports a bad line as file:line: reason', () => {
    const bad: [string, RegExp][] = [
      ['{"text":"a"}\n{"text": 3}', /d\.jsonl:2: "text" must be a string/],
      ['{"text":"a"}\nnot json', /d\.jsonl:2: not valid JSON/],
      ['{"text":"a","token_ids":[1]}', /d\.jsonl:1: needs exactly one/],
      ['{"token_ids":[1,-2]}', /d\.jsonl:1: "token_ids"/],
      ['{"text":"a","m":"x"}\n{"text":"b","m":1}', /d\.jsonl:2: label "m" is a number here but a string on line 1/],
      ['{"text":"a","m":[1]}', /d\.jsonl:1: label "m" is an array/],
      ['[1,2]', /d\.jsonl:1: expected a JSON object/],
      ['', /no records/],
    ];
    for (const [content, message] of bad) expect(() => parseDataset(content, 'd.jsonl', 'jsonl')).toThrow(message);
  });

  it('reads plain text as one document per non-empty line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-ds-'));
    writeFileSync(path.join(dir, 'docs.txt'), 'first doc\n\nsecond doc\n');
    const ds = readDatasetFile(path.join(dir, 'docs.txt'));
    expect(ds.records.map((r) => r.kind === 'text' && r.text)).toEqual(['first doc', 'second doc']);
    expect(() => readDatasetFile(path.join(dir, 'missing.jsonl'))).toThrow(/does not exist/);
  });

  it('never fails with anything but an InterpError on arbitrary input', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      try { parseDataset(s, 'x.jsonl', 'jsonl'); } catch (e) { if (!(e instanceof InterpError)) throw e; }
    }), { numRuns: 500, seed: 7 });
  });
});
