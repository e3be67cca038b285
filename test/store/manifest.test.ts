import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileFormatError, InterpError } from '../../src/errors.js';
import { identityOf, parseManifest } from '../../src/store/index.js';
import { identityDifference, newManifest } from '../../src/store/manifest.js';
import { header } from './store-helpers.js';

const valid = () => {
  const m = newManifest(header());
  m.shards = [{ file: 'shard-00000.arrow', rows: 3, first_seq: 0, last_seq: 1 }];
  m.rows = 3;
  m.sequences_done = 2;
  for (const s of Object.values(m.stats)) s.count = 3;
  return m;
};

describe('parseManifest', () => {
  it('accepts what newManifest makes', () => {
    expect(parseManifest(JSON.stringify(valid()), 'm.json').rows).toBe(3);
  });

  it('names the file and the field', () => {
    const m = valid();
    expect(() => parseManifest(JSON.stringify({ ...m, dtype: 'bf16' }), '/x/manifest.json')).toThrow(/\/x\/manifest\.json: dtype must be "f16" or "f32"/);
    expect(() => parseManifest(JSON.stringify({ ...m, rows: 4 }), 'm.json')).toThrow(/rows is 4 but the shards hold 3/);
    expect(() => parseManifest(JSON.stringify({ ...m, format: 'other' }), 'm.json')).toThrow(/not an interp capture/);
    expect(() => parseManifest('{', 'm.json')).toThrow(FileFormatError);
  });

  it('identity: differing fields are named; reordered policy keys are equal', () => {
    const a = header();
    expect(identityDifference(a, { ...a, context: 9 })?.field).toBe('context');
    expect(identityDifference(a, { ...a, label_columns: [] })?.field).toBe('label_columns');
    expect(identityDifference(a, { ...a, seed: 5, command: ['x'] })).toBeNull();
    expect(identityOf(a).model).toEqual({ hash: 'abc123' });
  });

  it('random mutations never crash with anything but an InterpError', () => {
    const text = JSON.stringify(valid());
    const anyJson = fc.jsonValue({ maxDepth: 3 });
    const keys = (o: Record<string, unknown>) => Object.keys(o);
    const mutate = fc.oneof(
      // replace a top-level or nested field with random JSON
      fc.tuple(fc.nat(), fc.nat(), anyJson).map(([i, j, v]) => {
        const m = JSON.parse(text) as Record<string, unknown>;
        const k = keys(m)[i % keys(m).length];
        const inner = m[k];
        if (inner && typeof inner === 'object' && !Array.isArray(inner) && j % 2) {
          const ik = keys(inner as Record<string, unknown>);
          if (ik.length) (inner as Record<string, unknown>)[ik[j % ik.length]] = v;
        } else m[k] = v;
        return JSON.stringify(m);
      }),
      // delete a field
      fc.nat().map((i) => {
        const m = JSON.parse(text) as Record<string, unknown>;
        delete m[keys(m)[i % keys(m).length]];
        return JSON.stringify(m);
      }),
      // truncate or splice bytes
      fc.tuple(fc.nat(), fc.string({ maxLength: 5 })).map(([i, s]) => text.slice(0, i % text.length) + s + text.slice((i % text.length) + s.length)),
      anyJson.map((v) => JSON.stringify(v) ?? 'null'),
    );
    fc.assert(
      fc.property(mutate, (t) => {
        try {
          parseManifest(t, 'm.json');
        } catch (err) {
          expect(err).toBeInstanceOf(InterpError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
