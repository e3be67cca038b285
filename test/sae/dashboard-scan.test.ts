/**
 * The dashboard's streaming scan against a brute-force computation over the same capture:
 * densities, sums, maxima, exact histograms, top examples and their context windows, with
 * sequences split across read batches and shards, ignored (BOS) rows left out, and a row limit
 * that stops at a sequence boundary. The blocked CPU encoder equals the reference encode for
 * every architecture.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureWriter } from '../../src/store/index.js';
import { blockedEncoder } from '../../sae/dashboard-encode.js';
import { scanCapture } from '../../sae/dashboard-scan.js';
import { encodeReference, type Sae, type SaeArchitecture } from '../../sae/sae.js';
import { rng } from '../helpers/checkpoints.js';

const D = 6;
const M = 10;
const HOOK = 'blocks.0.hook_resid_post';


function randomSae(architecture: SaeArchitecture, seed: number, k: number | null = null): Sae {
  const r = rng(seed);
  const n = (len: number, scale: number, offset = 0) => Float32Array.from({ length: len }, () => offset + scale * (r() - 0.5));
  return {
    cfg: {
      architecture, d_in: D, d_sae: M, k, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true, normalize_activations: 'none', reshape_activations: 'none',
      metadata: { sae_lens_version: '6.0.0', model_name: 'toy', hook_name: HOOK, hook_head_index: null, context_size: 16, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
    },
    weights: { W_enc: n(D * M, 2), W_dec: n(M * D, 1), b_enc: n(M, 0.6), b_dec: n(D, 0.2), threshold: architecture === 'jumprelu' ? n(M, 0.4, 0.2) : null },
  };
}

interface Toy {
  readonly dir: string;
  readonly x: Float32Array;
  readonly seq: number[];
  readonly pos: number[];
  readonly ids: number[];
}

/** A capture of `sequences` sequences of 1–12 tokens, BOS (id 1) first, random activations. */
function writeToyCapture(sequences: number, seed: number): Toy {
  const dir = mkdtempSync(path.join(tmpdir(), 'interp-scan-'));
  const r = rng(seed);
  const seq: number[] = [];
  const pos: number[] = [];
  const ids: number[] = [];
  for (let s = 0; s < sequences; s++) {
    const len = 1 + Math.floor(r() * 12);
    for (let t = 0; t < len; t++) [seq.push(s), pos.push(t), ids.push(t === 0 ? 1 : 4 + Math.floor(r() * 6))];
  }
  const x = Float32Array.from({ length: ids.length * D }, () => 3 * (r() - 0.5));
  const w = CaptureWriter.open(dir, {
    model: { id: 'toy', dir: '/nonexistent/toy', hash: 'h', revision: null, family: 'llama', weights: 'raw' },
    dataset: { path: 'toy.jsonl', sha256: 's', sequences }, hooks: [{ name: HOOK, d: D }], dtype: 'f32',
    policy: { prependBos: true, paddingSide: 'left', maxTokens: null }, positions: 'all', context: 16, seed: 0,
    command: ['test'], versions: { interp: '0', onnxruntime: '0', node: '0' }, label_columns: [],
  }, { shardRows: 37, recordBatchRows: 13 });
  w.append({ seq: Int32Array.from(seq), pos: Int32Array.from(pos), tokenId: Int32Array.from(ids), token: ids.map((i) => `w${i}`), hooks: { [HOOK]: x } });
  w.finish({ sequencesDone: sequences });
  return { dir, x, seq, pos, ids };
}

describe('blockedEncoder', () => {
  for (const [arch, k] of [['relu', null], ['jumprelu', null], ['topk', 3]] as const) {
    it(`equals the reference encode (${arch}), including a partial last block`, () => {
      const sae = randomSae(arch, 7, k);
      const r = rng(3);
      const n = 11;
      const x = Float32Array.from({ length: n * D }, () => 3 * (r() - 0.5));
      const want = encodeReference(sae, x, n);
      const got = blockedEncoder(sae)(x, n) as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
      expect(maxDiff).toBeLessThan(1e-5);
      expect(got.some((v) => v > 0)).toBe(true);
    });
  }
});

describe('scanCapture', () => {
  const toy = writeToyCapture(40, 5);
  const sae = randomSae('relu', 11);
  const f = encodeReference(sae, toy.x, toy.ids.length);
  const counted = (i: number) => toy.ids[i] !== 1;

  it('densities, sums, maxima and histogram totals equal a brute-force pass, BOS rows left out', async () => {
    const scan = await scanCapture(sae, toy.dir, { batchRows: 7, ignoreTokenIds: [1], topK: 5, histogramBins: 8 });
    expect(scan.tokens).toBe(toy.ids.filter((id) => id !== 1).length);
    expect(scan.sequences).toBe(40);
    expect(scan.ignoredTokenIds).toEqual([1]);
    for (let l = 0; l < M; l++) {
      let fires = 0;
      let sum = 0;
      let max = 0;
      for (let i = 0; i < toy.ids.length; i++) {
        const v = f[i * M + l];
        if (!counted(i) || v <= 0) continue;
        fires++;
        sum += v;
        max = Math.max(max, v);
      }
      expect(scan.fires[l]).toBe(fires);
      expect(scan.sum[l]).toBeCloseTo(sum, 3);
      expect(scan.max[l]).toBeCloseTo(max, 4);
      const hist = scan.histCounts.subarray(l * 8, (l + 1) * 8);
      expect(hist.reduce((a, c) => a + c, 0)).toBe(fires);
      if (fires > 0) expect(scan.histTop[l]).toBeGreaterThan(max);
    }
  });

  it('keeps the top activations of each latent, largest first, with the right context window', async () => {
    const scan = await scanCapture(sae, toy.dir, { batchRows: 5, ignoreTokenIds: [1], topK: 4, radius: 2 });
    for (let l = 0; l < M; l++) {
      const values = toy.ids.map((_, i) => (counted(i) ? f[i * M + l] : 0)).filter((v) => v > 0).sort((a, b) => b - a);
      expect(scan.top[l].map((e) => e.value)).toEqual(values.slice(0, 4).map((v) => expect.closeTo(v, 4)));
      for (const e of scan.top[l]) {
        const row = toy.seq.findIndex((s, i) => s === e.seq && toy.pos[i] === e.pos);
        expect(e.tokens[e.center]).toBe(`w${toy.ids[row]}`);
        e.tokens.forEach((_, j) => {
          const i = row - e.center + j;
          expect(toy.seq[i]).toBe(e.seq); // windows never cross sequences
          if (counted(i)) expect(e.values[j]).toBeCloseTo(f[i * M + l], 4);
          else expect(Number.isNaN(e.values[j])).toBe(true);
        });
      }
      expect(scan.samples[l].length).toBe(Math.min(40, values.length));
    }
  });

  it('stops at the first sequence boundary after maxRows', async () => {
    const scan = await scanCapture(sae, toy.dir, { batchRows: 8, maxRows: 30 });
    const end = toy.seq.findIndex((s) => s === toy.seq[29] + 1);
    expect(scan.rowsRead).toBe(end < 0 ? toy.ids.length : end);
    expect(scan.rowsTotal).toBe(toy.ids.length);
  });

  it('scans only the sequences includeSequence accepts', async () => {
    const scan = await scanCapture(sae, toy.dir, { includeSequence: (s) => s % 3 === 0, ignoreTokenIds: [1] });
    const rows = toy.seq.map((s, i) => i).filter((i) => toy.seq[i] % 3 === 0);
    expect(scan.sequences).toBe(14);
    expect(scan.rowsRead).toBe(rows.length);
    expect(scan.tokens).toBe(rows.filter(counted).length);
    for (let l = 0; l < M; l++) expect(scan.fires[l]).toBe(rows.filter((i) => counted(i) && f[i * M + l] > 0).length);
  });

  it('refuses a capture whose hook width differs from the SAE', async () => {
    const wide = { ...sae, cfg: { ...sae.cfg, d_in: D + 1 }, weights: { ...sae.weights, W_enc: new Float32Array((D + 1) * M), W_dec: new Float32Array(M * (D + 1)), b_dec: new Float32Array(D + 1) } };
    await expect(scanCapture(wide, toy.dir)).rejects.toThrow(/width 6/);
  });
});
