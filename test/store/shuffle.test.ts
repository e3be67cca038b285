import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureWriter, openCapture } from '../../src/store/index.js';
import { makePermutation } from '../../src/store/shuffle.js';
import { HOOKS, batch, header, tmpDir } from './store-helpers.js';

function capture(dtype: 'f16' | 'f32', nSeq = 60): string {
  const dir = tmpDir();
  const w = CaptureWriter.open(dir, header({ dtype }), { shardRows: 50, recordBatchRows: 17 });
  for (let s = 0; s < nSeq; s += 6) w.append(batch(s, Math.min(nSeq, s + 6)));
  w.finish();
  return dir;
}

describe('shuffledBatches', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    it(`is a permutation of all rows with each row's own values (${dtype})`, () => {
      const c = openCapture(capture(dtype));
      // Reference: every row in capture order.
      const [all] = c.batches({ batchRows: c.rows, columns: [] });
      const seen = new Uint8Array(c.rows);
      let n = 0;
      for (const b of c.shuffledBatches({ hooks: HOOKS.map((h) => h.name), batchRows: 23, seed: 7 })) {
        expect(b.rows).toBeLessThanOrEqual(23);
        for (let r = 0; r < b.rows; r++) {
          const row = b.index[r];
          seen[row]++;
          for (const h of HOOKS) {
            expect(b.hooks[h.name].subarray(r * h.d, (r + 1) * h.d)).toEqual(all.hooks[h.name].subarray(row * h.d, (row + 1) * h.d));
          }
        }
        n += b.rows;
      }
      expect(n).toBe(c.rows);
      expect(seen.every((v) => v === 1)).toBe(true);
      c.close();
    });
  }

  it('is deterministic per seed, differs across seeds, and reuses its permutation file', () => {
    const dir = capture('f32');
    const order = (seed: number) => {
      const c = openCapture(dir);
      const out = [...c.shuffledBatches({ hooks: HOOKS[0].name, batchRows: 64, seed })].flatMap((b) => [...b.index]);
      c.close();
      return out;
    };
    const a = order(3);
    const file = path.join(dir, 'permutation-3.bin');
    const mtime = fs.statSync(file).mtimeMs;
    expect(order(3)).toEqual(a);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
    expect(order(4)).not.toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: a.length }, (_, i) => i));
    // A stale or damaged cache is rebuilt, giving the same order.
    fs.writeFileSync(file, 'junk');
    expect(order(3)).toEqual(a);
  });

  it('draws every permutation of 4 rows about equally often (uniform, not windowed)', () => {
    const counts = new Map<string, number>();
    const trials = 24_000;
    for (let seed = 0; seed < trials; seed++) {
      const key = makePermutation(4, seed).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(24);
    // Chi-square with 23 degrees of freedom; p = 0.001 at 49.7.
    const expected = trials / 24;
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(49.7);
  });

  it('rejects bad arguments', () => {
    const c = openCapture(capture('f32', 6));
    expect(() => [...c.shuffledBatches({ hooks: 'nope', batchRows: 4, seed: 1 })]).toThrow(/no hook nope/);
    expect(() => [...c.shuffledBatches({ hooks: HOOKS[0].name, batchRows: 0, seed: 1 })]).toThrow(/batchRows/);
    expect(() => [...c.shuffledBatches({ hooks: HOOKS[0].name, batchRows: 4, seed: -1 })]).toThrow(/seed/);
    c.close();
  });
});
