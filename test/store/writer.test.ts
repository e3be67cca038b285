import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShapeMismatchError, UsageError } from '../../src/errors.js';
import { float16BitsToNumber, toFloat16Bits } from '../../src/model/index.js';
import { CaptureWriter, NonFiniteActivationError, openCapture, type CaptureRows } from '../../src/store/index.js';
import { HOOKS, batch, header, labelsOf, seqLen, tmpDir, tokenOf, value } from './store-helpers.js';

const N_SEQ = 40;

function writeAll(dir: string, dtype: 'f16' | 'f32', split = 5, opts = { shardRows: 37, recordBatchRows: 10 }): void {
  const w = CaptureWriter.open(dir, header({ dtype }), opts);
  for (let s = 0; s < N_SEQ; s += split) w.append(batch(s, Math.min(N_SEQ, s + split)));
  w.finish();
}

function readAll(dir: string, batchRows = 13): CaptureRows[] {
  const c = openCapture(dir);
  try {
    return [...c.batches({ batchRows })];
  } finally {
    c.close();
  }
}

function f16(x: number): number {
  return float16BitsToNumber(toFloat16Bits(Float32Array.of(x))[0]);
}

describe('round trip', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    it(`reads back every column (${dtype}; several shards and record batches)`, () => {
      const dir = tmpDir();
      writeAll(dir, dtype);
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      expect(m.shards.length).toBeGreaterThan(3);
      expect(m.complete).toBe(true);
      let row = 0;
      let expectSeq = 0;
      let expectPos = 0;
      for (const b of readAll(dir)) {
        expect(b.start).toBe(row);
        for (let r = 0; r < b.rows; r++, row++) {
          const s = b.seq[r];
          const p = b.pos[r];
          expect([s, p]).toEqual([expectSeq, expectPos]);
          expectPos++;
          if (expectPos === seqLen(expectSeq)) (expectSeq++, (expectPos = 0));
          expect(b.token[r]).toBe(tokenOf(s, p));
          expect(b.tokenId[r]).toBe((s * 3 + p) % 11);
          const l = labelsOf(s, p);
          expect([b.labels.mood[r], b.labels.score[r], b.labels.neg[r]]).toEqual([l.mood, l.score, l.neg]);
          HOOKS.forEach((h, k) => {
            for (let i = 0; i < h.d; i++) {
              const want = value(k, s, p, i);
              const got = b.hooks[h.name][r * h.d + i];
              if (dtype === 'f32') expect(got).toBe(Math.fround(want));
              else {
                expect(got).toBe(f16(want));
                expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-3 * Math.abs(want) + 1e-7);
              }
            }
          });
        }
      }
      expect(row).toBe(m.rows);
      expect(expectSeq).toBe(N_SEQ);
    });
  }

  it('statistics equal a float64 recomputation over the stored values', () => {
    const dir = tmpDir();
    writeAll(dir, 'f16');
    const c = openCapture(dir);
    HOOKS.forEach((h) => {
      const sum = new Float64Array(h.d);
      const sq = new Float64Array(h.d);
      let norm = 0;
      let sqNorm = 0;
      let n = 0;
      for (const b of c.batches({ batchRows: 50, hooks: [h.name] })) {
        const x = b.hooks[h.name];
        for (let r = 0; r < b.rows; r++, n++) {
          let s2 = 0;
          for (let i = 0; i < h.d; i++) {
            const v = x[r * h.d + i];
            sum[i] += v;
            sq[i] += v * v;
            s2 += v * v;
          }
          norm += Math.sqrt(s2);
          sqNorm += s2;
        }
      }
      const st = c.stats(h.name);
      expect(st.count).toBe(n);
      expect(st.meanNorm).toBeCloseTo(norm / n, 12);
      expect(st.meanSqNorm).toBeCloseTo(sqNorm / n, 12);
      for (let i = 0; i < h.d; i++) {
        expect(st.mean[i]).toBeCloseTo(sum[i] / n, 12);
        expect(st.variance[i]).toBeCloseTo(sq[i] / n - (sum[i] / n) ** 2, 12);
      }
    });
    c.close();
  });

  it('shards end at sequence boundaries, whatever the append sizes', () => {
    const a = tmpDir();
    const b = tmpDir();
    writeAll(a, 'f32', 1);
    writeAll(b, 'f32', 13);
    const ma = JSON.parse(fs.readFileSync(path.join(a, 'manifest.json'), 'utf8'));
    const mb = JSON.parse(fs.readFileSync(path.join(b, 'manifest.json'), 'utf8'));
    expect(mb.shards).toEqual(ma.shards);
    expect(mb.stats).toEqual(ma.stats);
    for (let i = 1; i < ma.shards.length; i++) expect(ma.shards[i].first_seq).toBe(ma.shards[i - 1].last_seq + 1);
  });
});

describe('resume', () => {
  it('continues after a crash (no finish, stray .tmp and orphan shard) and ends identical to an uninterrupted write', () => {
    const whole = tmpDir();
    writeAll(whole, 'f16');
    const dir = tmpDir();
    const w = CaptureWriter.open(dir, header({ dtype: 'f16' }), { shardRows: 37, recordBatchRows: 10 });
    expect(w.resume).toMatchObject({ resumed: false, sequencesDone: 0, rowsDone: 0 });
    w.append(batch(0, 12));
    w.append(batch(12, 17));
    expect(w.bufferedRows).toBeGreaterThan(0); // lost in the "crash"
    // The writer is dropped without finish; a half-written shard and an unlisted one lie around.
    fs.writeFileSync(path.join(dir, 'shard-00099.arrow.tmp'), 'half a shard');
    fs.copyFileSync(path.join(dir, 'shard-00000.arrow'), path.join(dir, 'shard-00007.arrow'));
    const w2 = CaptureWriter.open(dir, header({ dtype: 'f16' }), { shardRows: 37, recordBatchRows: 10 });
    expect(w2.resume.resumed).toBe(true);
    expect(w2.resume.sequencesDone).toBeGreaterThan(0);
    expect(w2.resume.sequencesDone).toBeLessThan(17);
    expect(fs.existsSync(path.join(dir, 'shard-00099.arrow.tmp'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'shard-00007.arrow'))).toBe(false);
    for (let s = w2.resume.sequencesDone; s < N_SEQ; s += 3) w2.append(batch(s, Math.min(N_SEQ, s + 3)));
    w2.finish();
    const m1 = JSON.parse(fs.readFileSync(path.join(whole, 'manifest.json'), 'utf8'));
    const m2 = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(m2).toEqual(m1);
    for (const s of m1.shards) expect(fs.readFileSync(path.join(dir, s.file)).equals(fs.readFileSync(path.join(whole, s.file)))).toBe(true);
    expect(readAll(dir)).toEqual(readAll(whole));
  });

  it('survives kill -9 at a random moment of a real writing process', async () => {
    const whole = tmpDir();
    writeAll(whole, 'f32', 2, { shardRows: 20, recordBatchRows: 7 });
    const dir = tmpDir();
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'crash-writer.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(N_SEQ)], { stdio: 'ignore' });
    // Kill once at least two shards are committed (the child loops forever after writing).
    const deadline = Date.now() + 60_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      const mf = path.join(dir, 'manifest.json');
      if (fs.existsSync(mf) && JSON.parse(fs.readFileSync(mf, 'utf8')).shards.length >= 2) break;
      if (Date.now() > deadline) throw new Error('crash-writer made no progress');
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const partial = openCapture(dir); // consistent: every listed shard complete
    expect(partial.rows).toBeGreaterThan(0);
    partial.close();
    const w = CaptureWriter.open(dir, header({ dtype: 'f32' }), { shardRows: 20, recordBatchRows: 7 });
    for (let s = w.resume.sequencesDone; s < N_SEQ; s += 4) w.append(batch(s, Math.min(N_SEQ, s + 4)));
    w.finish();
    expect(readAll(dir)).toEqual(readAll(whole));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).stats).toEqual(JSON.parse(fs.readFileSync(path.join(whole, 'manifest.json'), 'utf8')).stats);
  });

  it('refuses a directory captured with another identity, naming the field', () => {
    const dir = tmpDir();
    writeAll(dir, 'f32');
    expect(() => CaptureWriter.open(dir, header({ dtype: 'f16' }))).toThrow(/dtype differs.*refusing to overwrite/);
    expect(() => CaptureWriter.open(dir, header({ hooks: [HOOKS[0]] }))).toThrow(/hooks differs/);
    const h = header();
    expect(() => CaptureWriter.open(dir, { ...h, model: { ...h.model, hash: 'other' } })).toThrow(/model\.hash differs/);
    expect(() => CaptureWriter.open(dir, { ...h, policy: { prependBos: false } })).toThrow(UsageError);
    // Same identity with reordered policy keys is the same capture (complete: nothing to resume).
    const again = CaptureWriter.open(dir, { ...h, policy: { maxTokens: null, paddingSide: 'left', prependBos: true }, command: ['other'] });
    expect(again.resume.complete).toBe(true);
    expect(() => again.append(batch(40, 41))).toThrow(/complete/);
  });

  it('refuses a non-empty directory that is not a capture', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(() => CaptureWriter.open(dir, header())).toThrow(/refusing to overwrite/);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('bad batches', () => {
  const open = (dtype: 'f16' | 'f32' = 'f32') => CaptureWriter.open(tmpDir(), header({ dtype }), { shardRows: 5 });

  it('NaN or Inf: refused naming hook, sequence and position; nothing written', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const w = open();
      const b = batch(0, 3);
      const r = 4; // a row of sequence 1 (sequence 0 has 1 token, sequence 1 has 8)
      b.hooks[HOOKS[1].name][r * HOOKS[1].d + 2] = bad;
      const err = (() => {
        try {
          w.append(b);
        } catch (e) {
          return e as Error;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(NonFiniteActivationError);
      expect(err?.message).toContain(`hook ${HOOKS[1].name}`);
      expect(err?.message).toContain(`sequence ${b.seq[r]}, position ${b.pos[r]}`);
      expect(w.bufferedRows).toBe(0);
      expect(w.manifest.rows).toBe(0);
      w.append(batch(0, 3)); // the writer is still usable
    }
  });

  it('f16 overflow is refused with a hint to use f32', () => {
    const w = open('f16');
    const b = batch(0, 2);
    b.hooks[HOOKS[0].name][0] = 1e6;
    expect(() => w.append(b)).toThrow(/overflows float16[\s\S]*--dtype f32/);
  });

  it('shapes, order and label types are checked', () => {
    const w = open();
    const full = batch(0, 2);
    const short = { ...full, hooks: { ...full.hooks, [HOOKS[0].name]: new Float32Array(3) } };
    expect(() => w.append(short)).toThrow(ShapeMismatchError);
    w.append(batch(0, 4));
    expect(() => w.append(batch(2, 5))).toThrow(/ascending order/);
    const badLabel = batch(4, 5);
    (badLabel.labels as Record<string, unknown[]>).score[0] = 'high';
    expect(() => w.append(badLabel)).toThrow(/label score/);
    const extraHook = batch(4, 5);
    (extraHook.hooks as Record<string, Float32Array>)['blocks.9.hook_x'] = new Float32Array(0);
    expect(() => w.append(extraHook)).toThrow(/not in this capture/);
  });
});
