/**
 * The host-side pieces of probes against references: L-BFGS on known optima, AUC against the
 * brute-force pair count (ties one half, as sklearn), the split by sequence, the control task.
 */
import { describe, expect, it } from 'vitest';
import { binaryAuc, controlLabels, lbfgs, probeAuc, splitBySequence } from '../../probes/index.js';
import { rng } from '../../probes/split.js';

describe('lbfgs', () => {
  it('finds the minimum of an ill-conditioned quadratic to the gradient tolerance', async () => {
    // Condition number 6e3: scipy's L-BFGS-B (m = 10) needs 579 iterations here; so do we, about.
    const scales = Float64Array.from({ length: 20 }, (_, i) => 10 ** (i / 5));
    const r = await lbfgs(async (x) => ({ f: x.reduce((s, v, i) => s + 0.5 * scales[i] * (v - 1) ** 2, 0), grad: x.map((v, i) => scales[i] * (v - 1)) }), new Float64Array(20), { gtol: 1e-8, maxIter: 1000 });
    expect(r.stop).toBe('converged');
    for (const v of r.x) expect(v).toBeCloseTo(1, 7);
  });

  it('minimises the Rosenbrock function (strongly curved valley)', async () => {
    const r = await lbfgs(async ([a, b]) => ({ f: (1 - a) ** 2 + 100 * (b - a * a) ** 2, grad: Float64Array.from([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]) }), Float64Array.from([-1.2, 1]), { gtol: 1e-9, maxIter: 500 });
    expect(r.x[0]).toBeCloseTo(1, 6);
    expect(r.x[1]).toBeCloseTo(1, 6);
  });
});

describe('AUC', () => {
  it('equals the pair count with ties counted one half', () => {
    const next = rng(3);
    const score = Array.from({ length: 300 }, () => Math.round(next() * 20)); // many ties
    const pos = score.map((s) => next() < 0.3 + s / 40);
    let wins = 0, pairs = 0;
    score.forEach((a, i) => score.forEach((b, j) => { if (pos[i] && !pos[j]) { pairs++; wins += a > b ? 1 : a === b ? 0.5 : 0; } }));
    expect(binaryAuc(score, pos)).toBeCloseTo(wins / pairs, 12);
  });

  it('is NaN with one class, and the macro mean over classes for one-vs-rest', () => {
    expect(binaryAuc([1, 2, 3], [true, true, true])).toBeNaN();
    // 3 classes, perfect logits: every per-class AUC is 1.
    const y = [0, 1, 2, 0, 1, 2];
    const scores = y.flatMap((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0)));
    expect(probeAuc(scores, 3, y)).toBe(1);
  });
});

describe('split and control task', () => {
  it('never puts one sequence on both sides, is deterministic per seed, keeps the fraction', () => {
    const seq = Int32Array.from({ length: 1000 }, (_, i) => Math.floor(i / 7));
    const rows = Int32Array.from({ length: 1000 }, (_, i) => i);
    const a = splitBySequence(seq, rows, 0.8, 5);
    const b = splitBySequence(seq, rows, 0.8, 5);
    expect(Array.from(a.train)).toEqual(Array.from(b.train));
    const trainSeqs = new Set(Array.from(a.train, (r) => seq[r]));
    expect(Array.from(a.test).some((r) => trainSeqs.has(seq[r]))).toBe(false);
    expect(a.trainSequences).toBe(Math.round(0.8 * 143));
    expect(splitBySequence(seq, rows, 1, 5).test.length).toBe(0);
  });

  it('gives every occurrence of a token type the same control label, drawn from the label distribution', () => {
    const next = rng(9);
    const tokenId = Int32Array.from({ length: 2000 }, () => Math.floor(next() * 50));
    const y = Int32Array.from({ length: 2000 }, () => (next() < 0.75 ? 0 : 1));
    const rows = Int32Array.from({ length: 2000 }, (_, i) => i);
    const control = controlLabels(tokenId, y, rows.subarray(0, 1600), rows, 1);
    const byType = new Map<number, number>();
    for (const r of rows) {
      expect(byType.get(tokenId[r]) ?? control[r]).toBe(control[r]);
      byType.set(tokenId[r], control[r]);
    }
    const ones = [...byType.values()].filter((v) => v === 1).length;
    expect(ones).toBeGreaterThan(2);
    expect(ones).toBeLessThan(25);
  });
});
