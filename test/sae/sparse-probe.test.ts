/**
 * 1-sparse probing on a capture built by hand: three class directions, an SAE whose latent i
 * reads direction i exactly, and a decoy latent that fires on every row. Each class's best latent
 * must be its own, with F1 counted by hand; the decoy never wins, and a width mismatch is refused.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sparseProbe } from '../../sae/sparse-probe.js';
import type { Sae } from '../../sae/sae.js';
import { CaptureWriter, openCapture } from '../../src/store/index.js';
import { captureHeader, HOOK, randomSae, tempDir } from './helpers.js';

const dir = tempDir('sparse-probe');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = 4;
const CLASSES = ['a', 'b', 'c'];

/** Row r has class r % 3 and activation e_class, except every 5th row of class a, which is 0 (a miss). */
function labelledCapture(out: string, n: number): string {
  const w = CaptureWriter.open(out, { ...captureHeader(D), label_columns: [{ name: 'label', type: 'string' }] }, { shardRows: 1000, recordBatchRows: 100 });
  const x = new Float32Array(n * D);
  const labels: string[] = [];
  for (let r = 0; r < n; r++) {
    const y = r % 3;
    labels.push(CLASSES[y]);
    if (!(y === 0 && r % 5 === 0)) x[r * D + y] = 2;
    x[r * D + 3] = 1; // a constant the decoy latent reads
  }
  w.append({ seq: Int32Array.from({ length: n }, (_, r) => r), pos: new Int32Array(n), tokenId: new Int32Array(n), token: labels.map(() => 't'), hooks: { [HOOK]: x }, labels: { label: labels } });
  w.finish();
  return out;
}

/** A ReLU SAE with latent i = relu(x_i − 0.5) for i < 3 and latent 3 = relu(x_3) (fires everywhere). */
function detectorSae(): Sae {
  const base = randomSae('relu', D, 4, 1);
  const W_enc = new Float32Array(D * 4);
  for (let i = 0; i < 4; i++) W_enc[i * 4 + i] = 1; // [d, m]: identity
  return { ...base, cfg: { ...base.cfg, apply_b_dec_to_input: false }, weights: { ...base.weights, W_enc, b_enc: Float32Array.from([-0.5, -0.5, -0.5, 0]), b_dec: new Float32Array(D) } };
}

describe('sparseProbe', () => {
  it('finds each class its own latent with the F1 counted by hand', async () => {
    const n = 300;
    const capture = openCapture(labelledCapture(path.join(dir, 'cap'), n));
    try {
      const report = await sparseProbe(detectorSae(), capture, HOOK, 'label');
      expect(report.rows).toBe(n);
      const byName = new Map(report.matches.map((m) => [m.attribute, m]));
      // Class a: 100 rows, of which rows r ≡ 0 (mod 15) carry no activation: 20 misses.
      const a = byName.get('label=a');
      expect(a?.latent).toBe(0);
      expect(a?.precision).toBe(1);
      expect(a?.recall).toBeCloseTo(80 / 100, 12);
      expect(a?.f1).toBeCloseTo((2 * 80) / (80 + 100), 12);
      for (const [name, latent] of [['label=b', 1], ['label=c', 2]] as const) {
        expect(byName.get(name)).toMatchObject({ latent, f1: 1, precision: 1, recall: 1 });
      }
    } finally {
      capture.close();
    }
  });

  it('refuses an SAE of another width', async () => {
    const capture = openCapture(path.join(dir, 'cap'));
    try {
      const wide = randomSae('relu', D + 1, 4, 2);
      await expect(sparseProbe(wide, capture, HOOK, 'label')).rejects.toThrow(/is 4 wide, the SAE reads 5/);
    } finally {
      capture.close();
    }
  });
});
