import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { describe, expect, it } from 'vitest';
import { FileFormatError, UsageError } from '../../src/errors.js';
import { CaptureWriter, openCapture } from '../../src/store/index.js';
import { HOOKS, batch, header, labelsOf, tmpDir, tokenOf, value } from './store-helpers.js';

function capture(dtype: 'f16' | 'f32' = 'f32', nSeq = 30): string {
  const dir = tmpDir();
  const w = CaptureWriter.open(dir, header({ dtype }), { shardRows: 40, recordBatchRows: 16 });
  for (let s = 0; s < nSeq; s += 4) w.append(batch(s, Math.min(nSeq, s + 4)));
  w.finish();
  return dir;
}

const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

describe('opening', () => {
  it('missing manifest → FileFormatError naming manifest.json', () => {
    expect(() => openCapture(tmpDir())).toThrow(FileFormatError);
    expect(() => openCapture(tmpDir())).toThrow(/manifest\.json: missing/);
  });

  it('newer format_version is refused with an upgrade hint', () => {
    const dir = capture();
    const m = manifestOf(dir);
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, format_version: 2 }));
    expect(() => openCapture(dir)).toThrow(/format_version 2 is newer[\s\S]*upgrade interp/);
  });

  it('shard paths that escape the directory are refused', () => {
    const dir = capture();
    const m = manifestOf(dir);
    for (const file of ['../outside.arrow', '/etc/passwd', 'sub/shard.arrow', '..', 'a\\..\\b.arrow', '']) {
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, shards: [{ ...m.shards[0], file }, ...m.shards.slice(1)] }));
      expect(() => openCapture(dir), file).toThrow(/escapes it|must be a string|not a plain file name/);
    }
  });

  it('a missing shard is named', () => {
    const dir = capture();
    fs.rmSync(path.join(dir, 'shard-00001.arrow'));
    expect(() => openCapture(dir)).toThrow(/shard-00001\.arrow: shard listed in .* is missing/);
  });

  it('a truncated shard is named', () => {
    const dir = capture();
    const f = path.join(dir, 'shard-00002.arrow');
    fs.truncateSync(f, fs.statSync(f).size - 100);
    expect(() => openCapture(dir)).toThrow(FileFormatError);
    expect(() => openCapture(dir)).toThrow(/shard-00002\.arrow/);
  });

  it('a shard whose row count or sequences disagree with the manifest is named', () => {
    const dir = capture();
    fs.copyFileSync(path.join(dir, 'shard-00000.arrow'), path.join(dir, 'shard-00001.arrow'));
    expect(() => openCapture(dir)).toThrow(/shard-00001\.arrow: (holds \d+ rows|holds sequences)/);
  });

  it('a shard with another schema is named', () => {
    const f16 = capture('f16');
    const f32 = capture('f32');
    fs.copyFileSync(path.join(f16, 'shard-00000.arrow'), path.join(f32, 'shard-00000.arrow'));
    expect(() => openCapture(f32)).toThrow(/shard-00000\.arrow: schema disagrees .* expected blocks\.0\.hook_resid_post: FixedSizeList\[6\]<Float32>, found .*Float16/);
  });

  it('garbage instead of a shard is a FileFormatError', () => {
    const dir = capture();
    fs.writeFileSync(path.join(dir, 'shard-00000.arrow'), Buffer.alloc(4096, 7));
    expect(() => openCapture(dir)).toThrow(/shard-00000\.arrow: no ARROW1 magic/);
  });
});

describe('reading', () => {
  it('subsets of hooks and columns; unknown names are UsageErrors', () => {
    const c = openCapture(capture('f16'));
    const [b] = c.batches({ batchRows: 1000, hooks: [HOOKS[1].name], columns: ['score'] });
    expect(Object.keys(b.hooks)).toEqual([HOOKS[1].name]);
    expect(Object.keys(b.labels)).toEqual(['score']);
    expect(b.token).toEqual([]);
    expect(b.rows).toBe(c.rows);
    expect(() => [...c.batches({ batchRows: 10, hooks: ['blocks.7.hook_nope'] })]).toThrow(UsageError);
    expect(() => [...c.batches({ batchRows: 10, columns: ['nope'] })]).toThrow(/no column nope/);
    c.close();
  });

  it('labels(name) returns one typed value per row', () => {
    const c = openCapture(capture());
    const rows = [...c.batches({ batchRows: 64, hooks: [] })];
    const seq = rows.flatMap((b) => [...b.seq]);
    const pos = rows.flatMap((b) => [...b.pos]);
    const mood = c.labels('mood');
    expect(mood.type).toBe('string');
    expect(mood.values).toEqual(seq.map((s, i) => labelsOf(s, pos[i]).mood));
    expect(c.labels('neg').values).toEqual(seq.map((s, i) => labelsOf(s, pos[i]).neg));
    expect(() => c.labels('nope')).toThrow(UsageError);
    c.close();
  });
});

describe('an independent reader (@uwdata/flechette) sees what was written', () => {
  for (const dtype of ['f16', 'f32'] as const) {
    it(`every shard (${dtype}): values, dictionary token column, FixedSizeList hooks, metadata`, () => {
      const dir = capture(dtype);
      const m = manifestOf(dir);
      let rows = 0;
      for (const shard of m.shards) {
        const t = tableFromIPC(fs.readFileSync(path.join(dir, shard.file)));
        expect(t.numRows).toBe(shard.rows);
        const fields = t.schema.fields;
        expect(fields.map((f) => f.name)).toEqual(['seq', 'pos', 'token_id', 'token', 'mood', 'score', 'neg', ...HOOKS.map((h) => h.name)]);
        const tokenType = fields[3].type as { typeId: number; dictionary: { typeId: number } };
        expect(tokenType.typeId).toBe(-1); // Dictionary
        expect(tokenType.dictionary.typeId).toBe(5); // Utf8
        HOOKS.forEach((h, k) => {
          const type = fields[7 + k].type as { typeId: number; stride: number; children: { type: { typeId: number; precision: number } }[] };
          expect(type.typeId).toBe(16); // FixedSizeList
          expect(type.stride).toBe(h.d);
          expect(type.children[0].type.precision).toBe(dtype === 'f16' ? 0 : 1); // HALF / SINGLE
        });
        const meta = t.schema.metadata as Map<string, string>;
        expect(JSON.parse(meta.get('model') as string)).toEqual(m.model);
        expect(JSON.parse(meta.get('hooks') as string)).toEqual(m.hooks);
        expect(meta.get('dtype')).toBe(dtype);
        expect(JSON.parse(meta.get('policy') as string)).toEqual(m.policy);
        const stats = JSON.parse(meta.get('stats') as string);
        expect(stats[HOOKS[0].name].count).toBe(shard.rows);
        expect(stats[HOOKS[0].name].mean).toHaveLength(HOOKS[0].d);

        const seq = t.getChild('seq').toArray();
        const pos = t.getChild('pos').toArray();
        const token = t.getChild('token').toArray();
        const mood = t.getChild('mood').toArray();
        const score = t.getChild('score').toArray();
        const hooks = HOOKS.map((h) => t.getChild(h.name).toArray() as ArrayLike<number>[]);
        for (let r = 0; r < t.numRows; r++) {
          const [s, p] = [seq[r] as number, pos[r] as number];
          expect(token[r]).toBe(tokenOf(s, p));
          expect(mood[r]).toBe(labelsOf(s, p).mood);
          expect(score[r]).toBe(labelsOf(s, p).score);
          HOOKS.forEach((h, k) => {
            for (let i = 0; i < h.d; i++) {
              const want = value(k, s, p, i);
              const got = hooks[k][r][i];
              if (dtype === 'f32') expect(got).toBe(Math.fround(want));
              else expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-3 * Math.abs(want) + 1e-7);
            }
          });
        }
        rows += t.numRows;
      }
      expect(rows).toBe(m.rows);
    });
  }
});

describe('memory', () => {
  it('streams a ~200 MB capture with RSS growth far below the file size', async () => {
    const dir = tmpDir();
    const hooks = [
      { name: 'blocks.0.hook_resid_post', d: 1024 },
      { name: 'blocks.1.hook_resid_post', d: 1024 },
    ];
    const w = CaptureWriter.open(dir, header({ hooks, label_columns: [] }), {});
    const seqTokens = 512;
    const n = 8 * seqTokens;
    const x = new Float32Array(n * 1024);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 500 - 1;
    for (let s = 0; s < 48; s += 8) {
      const seq = new Int32Array(n);
      const pos = new Int32Array(n);
      for (let r = 0; r < n; r++) (seq[r] = s + Math.floor(r / seqTokens)), (pos[r] = r % seqTokens);
      w.append({ seq, pos, tokenId: new Int32Array(n), token: new Array<string>(n).fill('a'), hooks: { [hooks[0].name]: x, [hooks[1].name]: x } });
    }
    w.finish();
    const bytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
    expect(bytes).toBeGreaterThan(190e6);
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'stream-rss.ts');
    // Spawned asynchronously, so the vitest worker's event loop is never blocked for the child's run.
    const { stdout: out } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', script, dir, hooks[0].name], { encoding: 'utf8' });
    const { before, peak, rows } = JSON.parse(out) as { before: number; peak: number; rows: number };
    expect(rows).toBe(2 * openCapture(dir).rows);
    const growth = peak - before;
    console.log(`memory: file ${(bytes / 1e6).toFixed(0)} MB, RSS growth while streaming ${(growth / 1e6).toFixed(1)} MB`);
    expect(growth).toBeLessThan(bytes / 5);
  });
});
