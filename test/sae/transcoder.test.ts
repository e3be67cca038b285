/**
 * Transcoders end to end on a synthetic paired capture: x at an "ln2" hook is a sparse
 * combination of more atoms than dimensions, and y at "mlp_out" is the same sparse code through
 * other atoms plus noise, so y is a sparse — not a linear — function of x. A TopK transcoder
 * trained on the pairs beats the least-squares linear map from x to y (and its own
 * initialisation); the saved metrics' explained variance equals a float64 recomputation from
 * the saved files; the fold of both scales is exact; a resumed run equals an uninterrupted one;
 * bad input is refused; `interp train-sae --arch transcoder --hook-out` writes SAELens'
 * transcoder layout and a dashboard labelled with both hooks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCapture, CaptureWriter } from '../../src/store/index.js';
import { trainConfig } from '../../sae/config.js';
import { loadSae } from '../../sae/io.js';
import { evaluateSae } from '../../sae/metrics.js';
import { saveSaeRun } from '../../sae/run-files.js';
import { decodeReference, encodeReference, type Sae } from '../../sae/sae.js';
import { foldTranscoder, initialTranscoderParams, trainSae, type TrainSaeOptions } from '../../sae/trainer.js';
import { runCli } from '../helpers/cli.js';
import { expectClose, gpuOrSkip, randomArray, rng } from '../engine/helpers.js';
import { captureHeader, tempDir } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();
const IN = 'blocks.1.ln2.hook_normalized';
const OUT = 'blocks.1.hook_mlp_out';
const [d, o] = [16, 12];
const B = 128;

/**
 * `sequences` × `len` rows: x = offset + Σ_{3 atoms} c·a_in + 0.02 noise (d), y = offset' +
 * Σ c·a_out + 0.02 noise (o) with the same atoms and coefficients, `atoms` > d so that no linear
 * map takes x to y exactly.
 */
function pairCapture(dir: string, sequences: number, len: number, atoms = 32, seed = 3): string {
  const next = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const unit = (n: number) => {
    const v = Array.from({ length: n }, normal);
    const s = Math.hypot(...v);
    return v.map((t) => t / s);
  };
  const aIn = Array.from({ length: atoms }, () => unit(d));
  const aOut = Array.from({ length: atoms }, () => unit(o));
  const offIn = Array.from({ length: d }, () => 0.5 * normal());
  const offOut = Array.from({ length: o }, () => 0.3 * normal());
  const header = { ...captureHeader(d), hooks: [{ name: IN, d }, { name: OUT, d: o }] };
  const w = CaptureWriter.open(dir, header, { shardRows: 1000, recordBatchRows: 500 });
  for (let s = 0; s < sequences; s += 10) {
    const seq: number[] = [];
    const pos: number[] = [];
    for (let q = s; q < Math.min(sequences, s + 10); q++) for (let p = 0; p < len; p++) (seq.push(q), pos.push(p));
    const x = new Float32Array(seq.length * d);
    const y = new Float32Array(seq.length * o);
    for (let r = 0; r < seq.length; r++) {
      for (let j = 0; j < d; j++) x[r * d + j] = offIn[j] + 0.02 * normal();
      for (let j = 0; j < o; j++) y[r * o + j] = offOut[j] + 0.02 * normal();
      for (let a = 0; a < 3; a++) {
        const atom = Math.floor(next() * atoms);
        const c = 1 + 3 * next();
        for (let j = 0; j < d; j++) x[r * d + j] += c * aIn[atom][j];
        for (let j = 0; j < o; j++) y[r * o + j] += c * aOut[atom][j];
      }
    }
    w.append({ seq: Int32Array.from(seq), pos: Int32Array.from(pos), tokenId: Int32Array.from(pos, (p) => p % 7), token: pos.map((p) => `t${p % 7}`), hooks: { [IN]: x, [OUT]: y } });
  }
  w.finish();
  return dir;
}

const captureDir = pairCapture(path.join(tempDir('transcoder'), 'capture'), 300, 16);

function options(out: string, over: Partial<TrainSaeOptions['config']> = {}, resume = false): TrainSaeOptions {
  return {
    capture: openCapture(captureDir), hook: IN, hookOut: OUT, out, resume,
    config: { variant: 'topk', dSae: 64, k: 4, batchTokens: B, lr: 3e-3, tokens: 120 * B, deadTokens: 6 * B, ...over },
  };
}

/** Rows of both hooks, split by the held-out predicate. */
function rowsOf(heldOut: (seq: number) => boolean, held: boolean): { x: Float32Array; y: Float32Array; n: number } {
  const c = openCapture(captureDir);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const b of c.batches({ hooks: [IN, OUT], batchRows: 4096, columns: [] })) {
    for (let i = 0; i < b.rows; i++) {
      if (heldOut(b.seq[i]) !== held) continue;
      xs.push(...b.hooks[IN].subarray(i * d, (i + 1) * d));
      ys.push(...b.hooks[OUT].subarray(i * o, (i + 1) * o));
    }
  }
  c.close();
  return { x: Float32Array.from(xs), y: Float32Array.from(ys), n: xs.length / d };
}

/** 1 − Σ‖y − ŷ‖² / Σ‖y − ȳ‖² in float64 (the metrics' definition). */
function explainedVariance(y: ArrayLike<number>, yhat: ArrayLike<number>, n: number): number {
  const mean = new Float64Array(o);
  for (let r = 0; r < n; r++) for (let j = 0; j < o; j++) mean[j] += y[r * o + j] / n;
  let err = 0;
  let varSum = 0;
  for (let r = 0; r < n; r++) for (let j = 0; j < o; j++) {
    err += (y[r * o + j] - yhat[r * o + j]) ** 2;
    varSum += (y[r * o + j] - mean[j]) ** 2;
  }
  return 1 - err / varSum;
}

/** Least-squares affine map ŷ = [x, 1] A fitted on (x, y) by the normal equations (float64, tiny ridge). */
function linearFit(x: Float32Array, y: Float32Array, n: number): (xs: Float32Array, rows: number) => Float64Array {
  const p = d + 1;
  const G = new Float64Array(p * p);
  const R = new Float64Array(p * o);
  const row = new Float64Array(p);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) row[j] = x[r * d + j];
    row[d] = 1;
    for (let a = 0; a < p; a++) {
      for (let b = 0; b < p; b++) G[a * p + b] += row[a] * row[b];
      for (let j = 0; j < o; j++) R[a * o + j] += row[a] * y[r * o + j];
    }
  }
  for (let a = 0; a < p; a++) G[a * p + a] += 1e-9 * n;
  // Gauss–Jordan on [G | R]
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(G[r * p + c]) > Math.abs(G[piv * p + c])) piv = r;
    for (let b = 0; b < p; b++) [G[c * p + b], G[piv * p + b]] = [G[piv * p + b], G[c * p + b]];
    for (let j = 0; j < o; j++) [R[c * o + j], R[piv * o + j]] = [R[piv * o + j], R[c * o + j]];
    const inv = 1 / G[c * p + c];
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = G[r * p + c] * inv;
      if (f === 0) continue;
      for (let b = 0; b < p; b++) G[r * p + b] -= f * G[c * p + b];
      for (let j = 0; j < o; j++) R[r * o + j] -= f * R[c * o + j];
    }
  }
  for (let c = 0; c < p; c++) for (let j = 0; j < o; j++) R[c * o + j] /= G[c * p + c];
  return (xs, rows) => {
    const out = new Float64Array(rows * o);
    for (let r = 0; r < rows; r++) for (let j = 0; j < o; j++) {
      let s = R[d * o + j];
      for (let a = 0; a < d; a++) s += xs[r * d + a] * R[a * o + j];
      out[r * o + j] = s;
    }
    return out;
  };
}

/** ŷ of a saved (SAELens-form) transcoder in float64: decodeReference(encodeReference(x)). */
function predict(sae: Sae, x: Float32Array, n: number): Float32Array {
  return decodeReference(sae, encodeReference(sae, x, n), n, x);
}

describe('transcoder fold (W_enc·s_in, W_dec / s_out, b_dec / s_out)', () => {
  it('the saved transcoder on x equals the trained one on s_in·x, with ŷ = ŷ\' / s_out', () => {
    const [m, n, sIn, sOut] = [24, 9, 2.3, 0.37];
    const cfg = trainConfig({ variant: 'topk', dIn: d, dOut: o, dSae: m, k: 5 });
    const next = rng(8);
    const f32 = (a: Float64Array) => Float32Array.from(a);
    const h = { W_enc: f32(randomArray(next, d * m)), b_enc: f32(randomArray(next, m, -0.2, 0.2)), W_dec: f32(randomArray(next, m * o)), b_dec: f32(randomArray(next, o)), logThreshold: null };
    const metadata = { sae_lens_version: '6.0.0', model_name: 'synthetic', hook_name: IN, hook_name_out: OUT, hook_head_index: null, context_size: 16, prepend_bos: true, model_from_pretrained_kwargs: {} };
    const saved = foldTranscoder(cfg, h, { scaleIn: sIn, scaleOut: sOut, metadata });
    expect(saved.cfg).toMatchObject({ architecture: 'topk', d_in: d, d_out: o, d_sae: m, k: 5, apply_b_dec_to_input: false, normalize_activations: 'none' });
    expect(saved.cfg.metadata.hook_name_out).toBe(OUT);
    const trained: Sae = { cfg: saved.cfg, weights: { ...h, threshold: null } };
    const x = Float32Array.from(randomArray(rng(4), n * d, -2, 2));
    const fTrained = encodeReference(trained, x.map((v) => v * sIn), n);
    const fSaved = encodeReference(saved, x, n);
    expectClose(fSaved, fTrained, 1e-5, 1e-4, 'f');
    expectClose(decodeReference(saved, fSaved, n), decodeReference(trained, fTrained, n).map((v) => v / sOut), 1e-5, 1e-4, 'ŷ');
  });
});

describe.skipIf(!gpu)(`trainSae with hookOut (TopK transcoder)${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('learns the sparse map: held-out EV of y well above the best linear map and the initialisation; saved metrics match a float64 recomputation', async () => {
    const out = path.join(tempDir('tc-train'), 'run');
    // 300 steps at lr 1e-2: the 32-atom code in 16 dimensions needs more steps than the SAE suites' data.
    const o0 = options(out, { lr: 1e-2, tokens: 300 * B });
    const trace: number[] = [];
    const r = await trainSae({ ...o0, progress: (p) => trace.push(p.explainedVariance) });
    expect(r.sae.cfg.d_out).toBe(o);
    expect(r.sae.cfg.apply_b_dec_to_input).toBe(false);
    expect(r.sae.cfg.metadata).toMatchObject({ hook_name: IN, hook_name_out: OUT });
    expect(r.scaleOut).not.toBeNull();
    const metrics = await evaluateSae(r.sae, o0.capture, { sequences: r.heldOut });
    expect(metrics.hookOut).toBe(OUT);
    // Baselines on the same held-out rows: the least-squares affine map fitted on the training
    // rows, and the transcoder's own initialisation (folded as training folds it).
    const train = rowsOf(r.heldOut, false);
    const held = rowsOf(r.heldOut, true);
    expect(metrics.tokens).toBe(held.n);
    const linear = explainedVariance(held.y, linearFit(train.x, train.y, train.n)(held.x, held.n), held.n);
    const cfg = trainConfig({ variant: 'topk', dIn: d, dOut: o, dSae: 64, k: 4 });
    const statsOut = o0.capture.stats(OUT);
    const init = foldTranscoder(cfg, initialTranscoderParams(cfg, statsOut.mean.map((v) => v * r.scaleOut!)), { scaleIn: r.scale, scaleOut: r.scaleOut!, metadata: r.sae.cfg.metadata });
    const initial = explainedVariance(held.y, predict(init, held.x, held.n), held.n);
    console.log(`transcoder held-out EV ${metrics.explainedVariance.toFixed(4)} (L0 ${metrics.l0.toFixed(2)}, dead ${metrics.deadFraction}); least-squares linear map ${linear.toFixed(4)}; initialisation ${initial.toFixed(4)}; training-batch EV ${trace[0].toFixed(3)} → ${trace.at(-1)!.toFixed(3)}`);
    expect(metrics.explainedVariance).toBeGreaterThan(0.75);
    expect(metrics.explainedVariance).toBeGreaterThan(linear + 0.2);
    expect(metrics.explainedVariance).toBeGreaterThan(initial + 0.5);
    expect(metrics.l0).toBeLessThanOrEqual(4);

    // The run directory: metrics.json says transcoder and names both hooks; its EV is the
    // float64 EV of the saved files' ŷ against the capture's y rows.
    const { summary } = saveSaeRun(out, { capture: o0.capture, hook: IN, result: r, metrics, lm: null, command: ['test'] });
    expect(summary).toMatchObject({ hook: IN, hook_out: OUT, arch: 'transcoder', d_in: d, d_out: o, d_sae: 64, k: 4 });
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(doc).toMatchObject({ hook: IN, hook_out: OUT, arch: 'transcoder', activation: 'topk' });
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.hooks).toEqual([IN, OUT]);
    const loaded = loadSae(out).sae;
    expect(loaded.cfg.d_out).toBe(o);
    expect(loaded.cfg.metadata.hook_name_out).toBe(OUT);
    const recomputed = explainedVariance(held.y, predict(loaded, held.x, held.n), held.n);
    expect(Math.abs(doc.metrics.explained_variance - recomputed)).toBeLessThan(1e-4);
    o0.capture.close();
  });

  it('a run stopped at a checkpoint and resumed equals the uninterrupted run exactly', async () => {
    const whole = await trainSae(options(path.join(tempDir('tc-whole'), 'run'), { tokens: 30 * B }));
    const out = path.join(tempDir('tc-split'), 'run');
    await trainSae(options(out, { tokens: 13 * B }));
    const resumed = await trainSae(options(out, { tokens: 30 * B }, true));
    expect(resumed.steps).toBe(30);
    for (const name of ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const) expect(resumed.sae.weights[name]).toEqual(whole.sae.weights[name]);
    // The checkpoint belongs to this output hook: resuming into another one is refused.
    await expect(trainSae({ ...options(out, { tokens: 30 * B }, true), hookOut: IN, hook: OUT })).rejects.toThrow(/cannot resume/);
  });

  it('refuses a capture without the output hook, and an output hook equal to the input hook', async () => {
    await expect(trainSae({ ...options(path.join(tempDir('tc-miss'), 'run')), hookOut: 'blocks.3.hook_mlp_out' })).rejects.toThrow(/no hook blocks\.3\.hook_mlp_out in this capture \(hooks: blocks\.1\.ln2\.hook_normalized, blocks\.1\.hook_mlp_out\)/);
    await expect(trainSae({ ...options(path.join(tempDir('tc-same'), 'run')), hookOut: IN })).rejects.toThrow(/--hook-out blocks\.1\.ln2\.hook_normalized is the input hook/);
  });
});

describe.skipIf(!gpu)(`interp train-sae --arch transcoder${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('writes the SAELens transcoder layout (topk_transcoder, d_out, hook_name_out), a --json summary naming both hooks, and a dashboard labelled with both', async () => {
    const out = path.join(tempDir('tc-cli'), 'run');
    const reports = path.join(tempDir('tc-cli'), 'reports');
    const r = await runCli(['train-sae', '--capture', captureDir, '--hook', IN, '--hook-out', 'mlp_out.1', '--arch', 'transcoder', '--out', out, '--width', '64', '--k', '4', '--batch-tokens', String(B), '--tokens', String(10 * B), '--reports', reports, '--json']);
    expect(r.stderr).not.toMatch(/interp:/);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(j)).toEqual(['hook', 'hook_out', 'arch', 'd_in', 'd_out', 'd_sae', 'k', 'tokens', 'checkpoint', 'metrics']);
    expect(j).toMatchObject({ hook: IN, hook_out: OUT, arch: 'transcoder', d_in: d, d_out: o, d_sae: 64, k: 4 });
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'cfg.json'), 'utf8'));
    expect(cfg).toMatchObject({ architecture: 'topk_transcoder', d_in: d, d_out: o, d_sae: 64, k: 4, apply_b_dec_to_input: false });
    expect(cfg.metadata).toMatchObject({ hook_name: IN, hook_name_out: OUT });
    const page = fs.readdirSync(reports, { recursive: true }).map(String).find((f) => f.endsWith('.html') && f.includes('sae-run'));
    expect(page).toBeDefined();
    const text = fs.readFileSync(path.join(reports, page!), 'utf8');
    expect(text).toContain(`Transcoder ${IN} → ${OUT}`);
    expect(text).toContain(`decoder row writes ${OUT}`);
  });

  it('--arch transcoder without --hook-out, and --hook-out without --arch transcoder, end with one clear message', async () => {
    const a = await runCli(['train-sae', '--capture', captureDir, '--hook', IN, '--arch', 'transcoder', '--out', path.join(tempDir('tc-cli'), 'bad1')]);
    expect(a.code).not.toBe(0);
    expect(a.stderr).toMatch(/--arch transcoder needs --hook-out/);
    const b = await runCli(['train-sae', '--capture', captureDir, '--hook', IN, '--hook-out', OUT, '--out', path.join(tempDir('tc-cli'), 'bad2')]);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/--hook-out given for --arch topk/);
    // With --model the CE-loss splice would need OUT downstream of IN: refused before training.
    const c = await runCli(['train-sae', '--capture', captureDir, '--hook', OUT, '--hook-out', IN, '--arch', 'transcoder', '--model', path.join(tempDir('tc-cli'), 'no-model'), '--out', path.join(tempDir('tc-cli'), 'bad3')]);
    expect(c.code).not.toBe(0);
    expect(c.stderr).toMatch(/--hook-out blocks\.1\.ln2\.hook_normalized comes before --hook blocks\.1\.hook_mlp_out/);
  });
});
