/**
 * Vector sources and the vector file: read positions, mean difference, the uncentred PCA whose
 * sign follows the mean projection (repeng's centred PCA drops the signal), random controls, and
 * the vector folder / plain safetensors round trips with their refusals.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/model/index.js';
import { firstPrincipalComponent, meanDifference, parseReadPosition, randomVector, readIndices } from '../../steering/sources.js';
import type { PairDifferences } from '../../steering/sources.js';
import { loadVector, loadVectors, saveVector, vectorNorm } from '../../steering/vector.js';
import type { VectorProvenance } from '../../steering/vector.js';
import { findKnee, frontier, slope, steerability } from '../../steering/sweep.js';

const diffsOf = (rows: number[][]): PairDifferences => ({ diffs: Float32Array.from(rows.flat()), n: rows.length, d: rows[0].length, meanNorm: 1 });

describe('read positions', () => {
  it('reads last, mean (no BOS), an index, and the differing tokens of aligned pairs', () => {
    const a = [1, 10, 11, 12, 13];
    const b = [1, 10, 21, 12, 23];
    expect(readIndices(parseReadPosition('last'), a, b, 'p')).toEqual([4]);
    expect(readIndices(parseReadPosition('mean'), a, b, 'p')).toEqual([1, 2, 3, 4]);
    expect(readIndices(parseReadPosition('2'), a, b, 'p')).toEqual([2]);
    expect(readIndices(parseReadPosition('differing'), a, b, 'p')).toEqual([2, 4]);
    expect(readIndices(parseReadPosition('from-first-difference'), a, b, 'p')).toEqual([2, 3, 4]);
    expect(() => readIndices(parseReadPosition('differing'), a, [1, 2], 'pair 3')).toThrow(/pair 3.*token-aligned/);
    expect(() => readIndices(parseReadPosition('9'), a, b, 'pair 0')).toThrow(/past the text/);
    expect(() => parseReadPosition('middle')).toThrow(/expected last/);
  });
});

describe('vectors from pair differences', () => {
  it('mean difference averages the rows', () => {
    expect(Array.from(meanDifference(diffsOf([[1, 2], [3, 6]])))).toEqual([2, 4]);
  });

  it('PCA is uncentred: identical differences keep their direction (centred PCA would have none)', () => {
    const pc = firstPrincipalComponent(diffsOf([[3, 4], [3, 4], [3, 4]]));
    expect(pc.vector[0]).toBeCloseTo(3, 5);
    expect(pc.vector[1]).toBeCloseTo(4, 5);
    expect(pc.explained).toBeCloseTo(1, 6);
  });

  it('PCA sign follows the mean projection, whatever the start', () => {
    // Mostly along −x with spread along y: the top component is ±x; the mean points to −x.
    const pc = firstPrincipalComponent(diffsOf([[-5, 1], [-4, -1], [-6, 0.5], [-5, -0.5]]));
    expect(pc.vector[0]).toBeLessThan(0);
    expect(Math.abs(pc.vector[1])).toBeLessThan(0.2);
    expect(vectorNorm(pc.vector)).toBeCloseTo(5, 1); // scaled to the mean projection
  });

  it('random controls have the requested norm and depend on the seed', () => {
    const a = randomVector(64, 7.5, 1);
    expect(vectorNorm(a)).toBeCloseTo(7.5, 4);
    expect(Array.from(randomVector(64, 7.5, 1))).toEqual(Array.from(a));
    expect(Array.from(randomVector(64, 7.5, 2))).not.toEqual(Array.from(a));
  });
});

const PROVENANCE: VectorProvenance = { method: 'mean-diff', positions: 'last', pooling: 'mean', hook_mean_norm: 3, model: { id: 'm', hash: 'h' }, dataset: null, source: {}, command: ['interp', 'vector'] };

describe('vector files', () => {
  it('round-trips a vector folder and records hook, method, positions, norm and provenance', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-vec-'));
    const v = Float32Array.from([3, 4, 0]);
    const json = saveVector(dir, 'blocks.1.hook_resid_pre', v, PROVENANCE);
    expect(json.norm).toBe(5);
    const back = loadVector(dir);
    expect(back.hook).toBe('blocks.1.hook_resid_pre');
    expect(Array.from(back.vector)).toEqual([3, 4, 0]);
    expect(back.json?.positions).toBe('last');
    expect(loadVector(path.join(dir, 'vector.json')).hook).toBe('blocks.1.hook_resid_pre');
    expect(loadVector(dir, 'blocks.0.hook_resid_post').hook).toBe('blocks.0.hook_resid_post');
  });

  it('loads a folder of per-hook folders in layer order', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'interp-vecs-'));
    for (const L of [10, 2]) saveVector(path.join(root, `blocks.${L}.hook_resid_pre`), `blocks.${L}.hook_resid_pre`, Float32Array.from([1, L]), PROVENANCE);
    expect(loadVectors(root).map((v) => v.hook)).toEqual(['blocks.2.hook_resid_pre', 'blocks.10.hook_resid_pre']);
  });

  it('loads a plain safetensors vector only with a hook, and refuses other shapes and names', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-vecf-'));
    const file = path.join(dir, 'v.safetensors');
    writeSafetensors(file, { vector: { dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) } });
    expect(() => loadVector(file)).toThrow(/--hook/);
    expect(Array.from(loadVector(file, 'resid_pre.1').vector)).toEqual([1, 2, 3]);
    const bad = path.join(dir, 'bad.safetensors');
    writeSafetensors(bad, { vector: { dtype: 'F32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) } });
    expect(() => loadVector(bad, 'h')).toThrow(/shape \[1, 3\], expected \[d_model\]/);
    const other = path.join(dir, 'other.safetensors');
    writeSafetensors(other, { steer: { dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) } });
    expect(() => loadVector(other, 'h')).toThrow(/no tensor named "vector" \(found: steer\)/);
    writeFileSync(path.join(dir, 'vector.json'), '{"format":"something-else"}');
    expect(() => loadVector(dir)).toThrow(/format/);
    expect(() => loadVector(path.join(dir, 'missing'))).toThrow(/does not exist/);
    expect(() => saveVector(dir, 'h', Float32Array.from([NaN]), PROVENANCE)).toThrow(/NaN/);
  });
});

describe('sweep reading', () => {
  const points = [
    { coeff: 0, successRate: 0.1, behavior: -0.5, ceDelta: 0 },
    { coeff: 1, successRate: 0.5, behavior: 0, ceDelta: 0.05 },
    { coeff: 2, successRate: 0.9, behavior: 0.6, ceDelta: 0.2 },
    { coeff: 3, successRate: 0.9, behavior: 0.7, ceDelta: 0.28 },
    { coeff: 4, successRate: 1, behavior: 0.9, ceDelta: 0.8 },
  ];
  it('knee: best success within the ΔCE budget, ties by behaviour', () => {
    expect(findKnee(points, 0.3)?.coeff).toBe(3);
    expect(findKnee(points, 1)?.coeff).toBe(4);
    expect(findKnee(points.slice(1).map((p) => ({ ...p, ceDelta: p.ceDelta + 1 })), 0.3)).toBeNull();
    expect(findKnee(points.map((p) => ({ ...p, successRate: null })), 0.3)?.coeff).toBe(3);
  });
  it('frontier keeps the undominated points; slopes and wrong-way fraction per prompt', () => {
    expect(frontier(points)).toEqual([0, 1, 2, 4]); // 3 has the success of 2 at a higher cost
    expect(frontier([...points, { coeff: 5, successRate: 0.5, behavior: 0, ceDelta: 0.9 }])).not.toContain(5);
    expect(slope([0, 1, 2], [1, 3, 5])).toBeCloseTo(2, 10);
    const s = steerability([0, 1, 2], [[1, 0, 0], [0, 1, 0], [0, 2, 0]]); // [coefficient][prompt]
    expect(s.slopes.map((x) => Math.sign(x))).toEqual([-1, 1, 0]);
    expect(s.wrongWay).toBeCloseTo(1 / 3, 10);
  });
});
