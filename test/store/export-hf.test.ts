import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { CaptureWriter, exportHfDatasets, openCapture } from '../../src/store/index.js';
import { HOOKS, batch, header, tmpDir, value } from './store-helpers.js';

const CONTEXT = 8;

function capture(opts: { dtype?: 'f16' | 'f32'; positions?: string; lengths?: (s: number) => number; nSeq?: number } = {}): string {
  const dir = tmpDir();
  const w = CaptureWriter.open(dir, header({ dtype: opts.dtype ?? 'f16', positions: opts.positions ?? 'all', context: CONTEXT }), { shardRows: 30, recordBatchRows: 11 });
  const nSeq = opts.nSeq ?? 12;
  for (let s = 0; s < nSeq; s += 5) w.append(batch(s, Math.min(nSeq, s + 5), HOOKS, opts.lengths ?? (() => CONTEXT)));
  w.finish();
  return dir;
}

describe('exportHfDatasets', () => {
  it('writes the datasets save_to_disk layout that an independent reader parses (several shards)', () => {
    const cap = capture();
    const out = path.join(tmpDir(), 'hf');
    const hook = HOOKS[0].name;
    const d = HOOKS[0].d;
    const rowBytes = CONTEXT * d * 4;
    const res = exportHfDatasets(cap, hook, out, { maxShardBytes: 5 * rowBytes + 200 });
    expect(res.rows).toBe(12);
    expect(res.files).toEqual(['data-00000-of-00003.arrow', 'data-00001-of-00003.arrow', 'data-00002-of-00003.arrow']);
    expect(fs.readdirSync(out).sort()).toEqual([...res.files, 'dataset_info.json', 'state.json'].sort());

    const features = {
      [hook]: { shape: [CONTEXT, d], dtype: 'float32', _type: 'Array2D' },
      token_ids: { feature: { dtype: 'int32', _type: 'Value' }, length: CONTEXT, _type: 'Sequence' },
    };
    expect(JSON.parse(fs.readFileSync(path.join(out, 'dataset_info.json'), 'utf8')).features).toEqual(features);
    const state = JSON.parse(fs.readFileSync(path.join(out, 'state.json'), 'utf8'));
    expect(state._data_files).toEqual(res.files.map((filename) => ({ filename })));
    expect(state).toMatchObject({ _format_columns: null, _format_kwargs: {}, _format_type: null, _output_all_columns: false, _split: null });

    let row = 0;
    for (const file of res.files) {
      const bytes = fs.readFileSync(path.join(out, file));
      expect(bytes.subarray(0, 6).toString('latin1')).not.toBe('ARROW1'); // stream, not file format
      const t = tableFromIPC(bytes);
      const [hf, ids] = t.schema.fields;
      expect(hf.name).toBe(hook);
      expect(hf.metadata?.get('ARROW:extension:name')).toBe('datasets.features.features.Array2DExtensionType');
      expect(hf.metadata?.get('ARROW:extension:metadata')).toBe(`[[${CONTEXT}, ${d}], "float32"]`);
      const outer = hf.type as { typeId: number; children: { type: { typeId: number; children: { type: { typeId: number; precision: number } }[] } }[] };
      expect(outer.typeId).toBe(12); // List
      expect(outer.children[0].type.typeId).toBe(12); // List
      expect(outer.children[0].type.children[0].type).toMatchObject({ typeId: 3, precision: 1 }); // Float32
      expect(ids.name).toBe('token_ids');
      expect(ids.type).toMatchObject({ typeId: 16, stride: CONTEXT });
      expect(JSON.parse(t.schema.metadata?.get('huggingface') as string)).toEqual({ info: { features } });
      const x = t.getChild(hook).toArray() as ArrayLike<ArrayLike<number>>[];
      const tok = t.getChild('token_ids').toArray() as ArrayLike<number>[];
      for (let r = 0; r < t.numRows; r++, row++) {
        const seq = row; // one window per 8-token sequence
        expect(x[r].length).toBe(CONTEXT);
        for (let p = 0; p < CONTEXT; p++) {
          expect(tok[r][p]).toBe((seq * 3 + p) % 11);
          for (let i = 0; i < d; i++) expect(Math.abs(x[r][p][i] - value(0, seq, p, i))).toBeLessThanOrEqual(1e-3 * Math.abs(value(0, seq, p, i)) + 1e-7);
        }
      }
    }
    expect(row).toBe(12);
  });

  it('splits sequences into context windows; a remainder is refused unless dropped', () => {
    const cap = capture({ dtype: 'f32', lengths: (s) => 8 + (s % 3) });
    expect(() => exportHfDatasets(cap, HOOKS[1].name, path.join(tmpDir(), 'a'))).toThrow(/sequence 1 has 9 tokens, not a multiple[\s\S]*drop-remainder/);
    const res = exportHfDatasets(cap, HOOKS[1].name, path.join(tmpDir(), 'b'), { context: 4, dropRemainder: true });
    // lengths 8, 9, 10, ... → 2 windows each, remainders 0, 1, 2
    expect(res.rows).toBe(24);
    expect(res.droppedTokens).toBe(4 * (0 + 1 + 2));
    const t = tableFromIPC(fs.readFileSync(path.join(res.outDir, res.files[0])));
    const x = t.getChild(HOOKS[1].name).toArray() as ArrayLike<ArrayLike<number>>[];
    // Row 1 is the second window of sequence 0: positions 4..7.
    expect(x[1][0][2]).toBe(Math.fround(value(1, 0, 4, 2)));
  });

  it('refuses captures that cannot form Array2D rows, unknown hooks, and a non-empty OUT', () => {
    const last = capture({ positions: 'last', lengths: () => 1 });
    expect(() => exportHfDatasets(last, HOOKS[0].name, path.join(tmpDir(), 'x'))).toThrow(/positions "last"[\s\S]*--positions all/);
    const cap = capture();
    expect(() => exportHfDatasets(cap, 'blocks.5.hook_x', path.join(tmpDir(), 'x'))).toThrow(UsageError);
    const busy = tmpDir();
    fs.writeFileSync(path.join(busy, 'keep'), '1');
    expect(() => exportHfDatasets(cap, HOOKS[0].name, busy)).toThrow(/refusing to overwrite/);
    expect(fs.readdirSync(busy)).toEqual(['keep']);
    const incomplete = tmpDir();
    const w = CaptureWriter.open(incomplete, header(), { shardRows: 1 });
    w.append(batch(0, 2, HOOKS, () => CONTEXT));
    expect(() => exportHfDatasets(incomplete, HOOKS[0].name, path.join(tmpDir(), 'y'))).toThrow(/not complete/);
    expect(openCapture(incomplete).rows).toBe(16);
  });
});
