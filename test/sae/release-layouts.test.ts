/**
 * Every public release layout, built here as the hub lays it out (file names, key names, dtypes,
 * config fields), imported, and run on a fixed batch against an independent float64
 * implementation of that release's own semantics, written from the peer's loader (cited in each
 * sae/readers/*.ts) and sharing no code with interp's encode. Then interp → SAELens layout →
 * import again must give the same outputs, and the GPU encode/decode must agree too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scope, upload } from '../../src/engine/index.js';
import { decode, disposeGpuSae, encode, uploadSae } from '../../sae/gpu-sae.js';
import { importSae, loadSae } from '../../sae/io.js';
import { decodeReference, encodeReference, type Sae } from '../../sae/sae.js';
import { runCli } from '../helpers/cli.js';
import { bf16Values, writeJson, writeNpz, writeSafetensorsFile, type RawTensor } from '../helpers/release-files.js';
import { expectClose, gpuOrSkip, rng } from '../engine/helpers.js';
import { tempDir } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();

const random = (next: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * s);

// ---- the independent reference: row-by-row float64, from the raw (un-folded) tensors ----

type Mat = { rows: number; cols: number; data: ArrayLike<number> };
const mat = (data: ArrayLike<number>, rows: number, cols: number): Mat => ({ rows, cols, data });
/** v [rows] · M [rows, cols] → [cols] */
function vecMat(v: ArrayLike<number>, M: Mat): Float64Array {
  const out = new Float64Array(M.cols);
  for (let r = 0; r < M.rows; r++) for (let c = 0; c < M.cols; c++) out[c] += v[r] * M.data[r * M.cols + c];
  return out;
}
/** M [rows, cols] · v [cols] → [rows] (a PyTorch Linear with weight M) */
function matVec(M: Mat, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(M.rows);
  for (let r = 0; r < M.rows; r++) for (let c = 0; c < M.cols; c++) out[r] += M.data[r * M.cols + c] * v[c];
  return out;
}

interface RowSemantics {
  /** raw row → { f, y } as the release computes them */
  (x: Float64Array): { f: Float64Array; y: Float64Array };
}

/** Runs a per-row reference over x [n, d] → flat f [n, m], y [n, o]. */
function runReference(ref: RowSemantics, x: Float32Array, n: number, d: number): { f: Float64Array[]; y: Float64Array[] } {
  const f: Float64Array[] = [];
  const y: Float64Array[] = [];
  for (let r = 0; r < n; r++) {
    const out = ref(Float64Array.from(x.subarray(r * d, (r + 1) * d)));
    f.push(out.f);
    y.push(out.y);
  }
  return { f, y };
}

function topkRow(pre: Float64Array, k: number): Float64Array {
  const order = [...pre.keys()].sort((a, b) => pre[b] - pre[a]);
  const f = new Float64Array(pre.length);
  for (const i of order.slice(0, k)) f[i] = Math.max(pre[i], 0);
  return f;
}

const flat = (rows: Float64Array[]) => Float64Array.from(rows.flatMap((r) => [...r]));

/** interp's CPU reference (and, with a GPU, its engine) on the imported SAE vs the release's semantics. */
async function expectSameFunction(sae: Sae, ref: RowSemantics, x: Float32Array, n: number, what: string, rtol = 1e-4): Promise<void> {
  const d = sae.cfg.d_in;
  const want = runReference(ref, x, n, d);
  const f = encodeReference(sae, x, n);
  const y = decodeReference(sae, f, n, x);
  const scale = Math.max(...flat(want.y).map(Math.abs), 1e-6);
  const fScale = Math.max(...flat(want.f).map(Math.abs), 1e-6);
  expect(f.some((v) => v !== 0), `${what}: some latent fires`).toBe(true);
  expectClose(f, flat(want.f), rtol * fScale, rtol, `${what} f(x)`);
  expectClose(y, flat(want.y), rtol * scale, rtol, `${what} x̂`);
  if (!gpu) return;
  const g = uploadSae(gpu, sae);
  try {
    const out = scope(() => {
      const enc = encode(g, upload(gpu, x, [n, d]));
      return decode(g, enc);
    });
    const got = (await out.download()) as Float32Array;
    out.dispose();
    expectClose(got, flat(want.y), 1e-3 * scale, 1e-3, `${what} x̂ on the GPU`);
  } finally {
    disposeGpuSae(g);
  }
}

/** Import into SAELens' layout, load that again: the same function, bit for bit. */
function expectRoundTrip(src: string, x: Float32Array, n: number, options: Parameters<typeof importSae>[2] = {}): Sae {
  const out = path.join(tempDir('roundtrip'), 'sae');
  const imported = importSae(src, out, options).sae;
  const again = loadSae(out).sae;
  expect(again.cfg.d_out).toBe(imported.cfg.d_out);
  const f1 = encodeReference(imported, x, n);
  const f2 = encodeReference(again, x, n);
  expect(Array.from(f2)).toEqual(Array.from(f1));
  expect(Array.from(decodeReference(again, f2, n, x))).toEqual(Array.from(decodeReference(imported, f1, n, x)));
  return again;
}

const N = 12;

// ---- SAELens ----

interface SaeLensRelease {
  d: number; m: number; o: number;
  W_enc: Float32Array; W_dec: Float32Array; b_enc: Float32Array; b_dec: Float32Array; threshold: Float32Array; W_skip: Float32Array;
}
function saeLensTensors(seed: number, d: number, m: number, o = d): SaeLensRelease {
  const next = rng(seed);
  return {
    d, m, o,
    W_enc: random(next, d * m, 0.5), W_dec: random(next, m * o, 0.5), b_enc: random(next, m, 0.2), b_dec: random(next, o, 0.3),
    threshold: Float32Array.from({ length: m }, () => 0.05 + 0.2 * next()), W_skip: random(next, o * d, 0.3),
  };
}
function writeSaeLens(dir: string, cfg: Record<string, unknown>, t: SaeLensRelease, extra: Partial<Record<'threshold' | 'W_skip' | 'log_threshold', boolean>> = {}): void {
  const { d, m, o } = t;
  const tensors: Record<string, RawTensor> = {
    W_enc: { dtype: 'F32', shape: [d, m], data: t.W_enc }, W_dec: { dtype: 'F32', shape: [m, o], data: t.W_dec },
    b_enc: { dtype: 'F32', shape: [m], data: t.b_enc }, b_dec: { dtype: 'F32', shape: [o], data: t.b_dec },
  };
  if (extra.threshold) tensors.threshold = { dtype: 'F32', shape: [m], data: t.threshold };
  if (extra.log_threshold) tensors.log_threshold = { dtype: 'F32', shape: [m], data: t.threshold.map(Math.log) };
  if (extra.W_skip) tensors.W_skip = { dtype: 'F32', shape: [o, d], data: t.W_skip };
  writeSafetensorsFile(path.join(dir, 'sae_weights.safetensors'), tensors);
  writeJson(path.join(dir, 'cfg.json'), cfg);
}

/** SAELens' encode/decode (saes/sae.py, topk_sae.py, jumprelu_sae.py, transcoder.py) on raw tensors. */
function saeLensSemantics(t: SaeLensRelease, o: {
  activation: 'relu' | 'topk' | 'jumprelu'; k?: number; applyBDec: boolean; norm?: 'none' | 'layer_norm' | 'constant_norm_rescale';
  rescaleByDecoderNorm?: boolean; inputScale?: number; transcoder?: boolean; skip?: boolean;
}): RowSemantics {
  const { d, m } = t;
  const out = t.o;
  return (xRaw) => {
    // training-time scaler (activation_scaler.json / expected_average_only_in): the SAE sees s·x, its output is divided by s
    const s = o.inputScale ?? 1;
    let x = xRaw.map((v) => v * s);
    let mu = 0;
    let std = 1;
    let coeff = 1;
    if (o.norm === 'layer_norm') {
      mu = x.reduce((a, b) => a + b, 0) / d;
      const c = x.map((v) => v - mu);
      std = Math.sqrt(c.reduce((a, b) => a + b * b, 0) / (d - 1));
      x = c.map((v) => v / (std + 1e-5));
    } else if (o.norm === 'constant_norm_rescale') {
      coeff = Math.sqrt(d) / Math.sqrt(x.reduce((a, b) => a + b * b, 0));
      x = x.map((v) => v * coeff);
    }
    const xin = o.applyBDec ? x.map((v, j) => v - t.b_dec[j]) : x;
    const pre = vecMat(xin, mat(t.W_enc, d, m)).map((v, i) => v + t.b_enc[i]);
    const decNorm = Float64Array.from({ length: m }, (_, i) => Math.hypot(...t.W_dec.subarray(i * out, (i + 1) * out)));
    const hidden = o.rescaleByDecoderNorm ? pre.map((v, i) => v * decNorm[i]) : pre;
    let f: Float64Array;
    if (o.activation === 'topk') f = topkRow(hidden, o.k!);
    else if (o.activation === 'jumprelu') f = hidden.map((v, i) => (v > t.threshold[i] ? Math.max(v, 0) : 0));
    else f = hidden.map((v) => Math.max(v, 0));
    const fd = o.rescaleByDecoderNorm ? f.map((v, i) => v / decNorm[i]) : f;
    let y = vecMat(fd, mat(t.W_dec, m, out)).map((v, j) => v + t.b_dec[j]);
    if (!o.transcoder) {
      if (o.norm === 'layer_norm') y = y.map((v) => v * std + mu);
      if (o.norm === 'constant_norm_rescale') y = y.map((v) => v / coeff);
    }
    if (o.skip) {
      const skip = matVec(mat(t.W_skip, out, d), xRaw.map((v) => v * s));
      y = y.map((v, j) => v + skip[j]);
    }
    return { f, y: y.map((v) => v / s) };
  };
}

const meta6 = { sae_lens_version: '6.5.0', model_name: 'gpt2-small', hook_name: 'blocks.3.hook_resid_pre', hook_head_index: null, context_size: 128, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: true, fold_ln: true } };

describe('SAELens layout, read as SAELens reads it', () => {
  const d = 10;
  const m = 24;
  const x = random(rng(99), N * d, 2);

  it('pre-6 TopK config (activation_fn_str "topk", activation_fn_kwargs.k, hook_point) is a TopK SAE with its k, not ReLU', async () => {
    const dir = path.join(tempDir('pre6-topk'), 'sae');
    const t = saeLensTensors(1, d, m);
    writeSaeLens(dir, { d_in: d, d_sae: m, hook_point: 'blocks.3.hook_resid_pre', activation_fn_str: 'topk', activation_fn_kwargs: { k: 4 }, normalize_activations: false, model_name: 'gpt2-small' }, t);
    const sae = loadSae(dir).sae;
    expect(sae.cfg.architecture).toBe('topk');
    expect(sae.cfg.k).toBe(4);
    expect(sae.cfg.metadata.hook_name).toBe('blocks.3.hook_resid_pre');
    await expectSameFunction(sae, saeLensSemantics(t, { activation: 'topk', k: 4, applyBDec: true }), x, N, 'pre-6 topk');
    expectRoundTrip(dir, x, N);
  });

  it('SAELens 6 TopK with rescale_acts_by_decoder_norm and a decoder that is not unit-norm is folded exactly', async () => {
    const dir = path.join(tempDir('topk-rescale'), 'sae');
    const t = saeLensTensors(2, d, m);
    writeSaeLens(dir, { architecture: 'topk', d_in: d, d_sae: m, k: 5, apply_b_dec_to_input: true, normalize_activations: 'none', rescale_acts_by_decoder_norm: true, metadata: meta6 }, t);
    const sae = loadSae(dir).sae;
    expect(sae.cfg.rescale_acts_by_decoder_norm).toBe(false);
    await expectSameFunction(sae, saeLensSemantics(t, { activation: 'topk', k: 5, applyBDec: true, rescaleByDecoderNorm: true }), x, N, 'topk rescaled');
    expectRoundTrip(dir, x, N);
  });

  it('activation_scaler.json is folded into the weights (the SAE was trained on s·x)', async () => {
    const dir = path.join(tempDir('scaler'), 'sae');
    const t = saeLensTensors(3, d, m);
    writeSaeLens(dir, { architecture: 'jumprelu', d_in: d, d_sae: m, apply_b_dec_to_input: true, normalize_activations: 'none', metadata: meta6 }, t, { threshold: true });
    writeJson(path.join(dir, 'activation_scaler.json'), { scaling_factor: 0.37 });
    await expectSameFunction(loadSae(dir).sae, saeLensSemantics(t, { activation: 'jumprelu', applyBDec: true, inputScale: 0.37 }), x, N, 'activation scaler');
  });

  it('expected_average_only_in folds the release norm_scaling_factor, and without one is refused', async () => {
    const dir = path.join(tempDir('expected-avg'), 'sae');
    const t = saeLensTensors(4, d, m);
    writeSaeLens(dir, { d_in: d, d_sae: m, hook_point: 'blocks.3.hook_resid_pre', normalize_activations: true }, t);
    expect(() => loadSae(dir)).toThrow(/expected_average_only_in.*scaling factor/);
    await expectSameFunction(loadSae(dir, { normScalingFactor: 1.9 }).sae, saeLensSemantics(t, { activation: 'relu', applyBDec: true, inputScale: 1.9 }), x, N, 'expected_average_only_in');
  });

  for (const norm of ['layer_norm', 'constant_norm_rescale'] as const) {
    it(`normalize_activations ${norm} runs per row (torch.std, 1e-5) and is undone on the output`, async () => {
      const dir = path.join(tempDir(norm), 'sae');
      const t = saeLensTensors(5, d, m);
      writeSaeLens(dir, { architecture: 'standard', d_in: d, d_sae: m, apply_b_dec_to_input: true, normalize_activations: norm, metadata: meta6 }, t);
      const sae = loadSae(dir).sae;
      expect(sae.cfg.normalize_activations).toBe(norm);
      await expectSameFunction(sae, saeLensSemantics(t, { activation: 'relu', applyBDec: true, norm }), x, N, norm);
      expectRoundTrip(dir, x, N);
    });
  }

  it('old configs with normalize_activations false and a log_threshold JumpReLU', async () => {
    const dir = path.join(tempDir('logthr'), 'sae');
    const t = saeLensTensors(6, d, m);
    writeSaeLens(dir, { architecture: 'jumprelu', d_in: d, d_sae: m, hook_point: 'blocks.1.hook_resid_post', apply_b_dec_to_input: false, normalize_activations: false }, t, { log_threshold: true });
    await expectSameFunction(loadSae(dir).sae, saeLensSemantics(t, { activation: 'jumprelu', applyBDec: false }), x, N, 'log threshold', 1e-4);
  });

  for (const [arch, activation, skip] of [['transcoder', 'relu', false], ['skip_transcoder', 'relu', true], ['jumprelu_transcoder', 'jumprelu', false]] as const) {
    it(`${arch}: d_out ≠ d_in, no b_dec subtraction, ${skip ? 'x W_skipᵀ added, ' : ''}hook_name_out kept`, async () => {
      const dir = path.join(tempDir(arch), 'sae');
      const o = 7;
      const t = saeLensTensors(7, d, m, o);
      writeSaeLens(dir, { architecture: arch, d_in: d, d_sae: m, d_out: o, apply_b_dec_to_input: false, normalize_activations: 'none', metadata: { ...meta6, hook_name: 'blocks.2.ln2.hook_normalized', hook_name_out: 'blocks.2.hook_mlp_out' } }, t, { threshold: activation === 'jumprelu', W_skip: skip });
      const sae = loadSae(dir).sae;
      expect(sae.cfg.d_out).toBe(o);
      expect(sae.cfg.metadata.hook_name_out).toBe('blocks.2.hook_mlp_out');
      await expectSameFunction(sae, saeLensSemantics(t, { activation, applyBDec: false, transcoder: true, skip }), x, N, arch);
      const again = expectRoundTrip(dir, x, N);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8')).architecture).toBe(arch);
      expect(Boolean(again.weights.W_skip)).toBe(skip);
    });
  }

  it('keeps the source model settings and records where the import came from', () => {
    const dir = path.join(tempDir('kwargs'), 'sae');
    writeSaeLens(dir, { architecture: 'standard', d_in: d, d_sae: m, apply_b_dec_to_input: true, normalize_activations: 'none', metadata: meta6 }, saeLensTensors(8, d, m));
    const out = path.join(tempDir('kwargs-out'), 'sae');
    importSae(dir, out, { provenance: { release: 'r', sae_id: 'id/1', repo_id: 'org/repo', revision: 'a'.repeat(40), path: 'id/1' } });
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'cfg.json'), 'utf8'));
    expect(cfg.metadata.model_from_pretrained_kwargs).toEqual({ center_writing_weights: true, fold_ln: true });
    expect(cfg.metadata.interp_imported_from).toMatchObject({ layout: 'saelens', release: 'r', sae_id: 'id/1', repo_id: 'org/repo', revision: 'a'.repeat(40) });
    expect(cfg.metadata.sae_lens_version.split('.')[0]).toBe('6');
  });

  for (const [what, cfg, pattern] of [
    ['tanh-relu', { d_in: d, d_sae: m, activation_fn_str: 'tanh-relu' }, /tanh-relu/],
    ['gated', { architecture: 'gated', d_in: d, d_sae: m, metadata: meta6 }, /architecture "gated"/],
    ['finetuning_scaling_factor', { d_in: d, d_sae: m, finetuning_scaling_factor: true }, /finetuning_scaling_factor/],
    ['an SAE on one head', { d_in: d, d_sae: m, hook_point_head_index: 3 }, /hook_head_index 3/],
  ] as const) {
    it(`refuses ${what} with one message`, () => {
      const dir = path.join(tempDir('refuse'), 'sae');
      writeSaeLens(dir, cfg as Record<string, unknown>, saeLensTensors(9, d, m));
      expect(() => loadSae(dir)).toThrow(pattern);
    });
  }
});

// ---- sparsify ----

describe('sparsify layout, read as sparsify computes it', () => {
  const d = 9;
  const m = 20;
  const x = random(rng(7), N * d, 2);
  function write(dir: string, cfg: Record<string, unknown>, seed: number, skip: boolean) {
    const next = rng(seed);
    const t = { enc: random(next, m * d, 0.5), encBias: random(next, m, 0.2), W_dec: random(next, m * d, 0.5), b_dec: random(next, d, 0.3), W_skip: random(next, d * d, 0.3) };
    const tensors: Record<string, RawTensor> = {
      'encoder.weight': { dtype: 'BF16', shape: [m, d], data: t.enc }, 'encoder.bias': { dtype: 'BF16', shape: [m], data: t.encBias },
      W_dec: { dtype: 'BF16', shape: [m, d], data: t.W_dec }, b_dec: { dtype: 'BF16', shape: [d], data: t.b_dec },
    };
    if (skip) tensors.W_skip = { dtype: 'BF16', shape: [d, d], data: t.W_skip };
    writeSafetensorsFile(path.join(dir, 'sae.safetensors'), tensors);
    writeJson(path.join(dir, 'cfg.json'), { expansion_factor: 32, normalize_decoder: true, num_latents: m, k: 4, multi_topk: false, skip_connection: skip, transcode: cfg.transcode ?? false, d_in: d, ...cfg });
    // bf16 on disk: the release's semantics are those of the rounded values
    return { enc: bf16Values(t.enc), encBias: bf16Values(t.encBias), W_dec: bf16Values(t.W_dec), b_dec: bf16Values(t.b_dec), W_skip: bf16Values(t.W_skip) };
  }
  const semantics = (t: ReturnType<typeof write>, transcode: boolean, skip: boolean): RowSemantics => (x) => {
    const xin = transcode ? x : x.map((v, j) => v - t.b_dec[j]);
    const pre = matVec(mat(t.enc, m, d), xin).map((v, i) => Math.max(v + t.encBias[i], 0));
    const f = topkRow(pre, 4);
    let y = vecMat(f, mat(t.W_dec, m, d)).map((v, j) => v + t.b_dec[j]);
    if (skip) y = y.map((v, j) => v + matVec(mat(t.W_skip, d, d), x)[j]);
    return { f, y };
  };

  it('a TopK SAE on layers.6 (bf16) reads blocks.6.hook_resid_post and subtracts b_dec', async () => {
    const dir = path.join(tempDir('sparsify'), 'layers.6');
    const t = write(dir, {}, 1, false);
    const sae = loadSae(dir).sae;
    expect(sae.cfg.metadata.hook_name).toBe('blocks.6.hook_resid_post');
    await expectSameFunction(sae, semantics(t, false, false), x, N, 'sparsify sae', 1e-4);
    expectRoundTrip(dir, x, N);
  });

  it('skip_connection keeps W_skip (a skip SAE becomes a transcoder onto its own hook, b_dec folded)', async () => {
    const dir = path.join(tempDir('sparsify-skip'), 'layers.2');
    const t = write(dir, {}, 2, true);
    const sae = loadSae(dir).sae;
    expect(sae.cfg.d_out).toBe(d);
    expect(sae.cfg.metadata.hook_name_out).toBe('blocks.2.hook_resid_post');
    await expectSameFunction(sae, semantics(t, false, true), x, N, 'sparsify skip', 1e-4);
    expectRoundTrip(dir, x, N);
  });

  it('transcode: no b_dec subtraction; the output hook must be named', async () => {
    const dir = path.join(tempDir('sparsify-tc'), 'layers.3.mlp');
    const t = write(dir, { transcode: true }, 3, true);
    expect(() => loadSae(dir)).toThrow(/--hook-out/);
    const sae = loadSae(dir, { hook: 'blocks.3.ln2.hook_normalized', hookOut: 'blocks.3.hook_mlp_out' }).sae;
    await expectSameFunction(sae, semantics(t, true, true), x, N, 'sparsify transcoder', 1e-4);
  });

  it('refuses groupmax', () => {
    const dir = path.join(tempDir('sparsify-gm'), 'layers.1');
    write(dir, { activation: 'groupmax' }, 4, false);
    expect(() => loadSae(dir)).toThrow(/groupmax/);
  });
});

// ---- Gemma Scope (npz) ----

describe('Gemma Scope params.npz', () => {
  const d = 8;
  const m = 16;
  const x = random(rng(5), N * d, 2);
  function write(file: string, seed: number, lowercase: boolean) {
    const next = rng(seed);
    const t = { W_enc: random(next, d * m, 0.6), W_dec: random(next, m * d, 0.6), b_enc: random(next, m, 0.2), b_dec: random(next, d, 0.3), threshold: Float32Array.from({ length: m }, () => 0.05 + 0.2 * next()) };
    const key = (k: string) => (lowercase && k.startsWith('W_') ? `w_${k.slice(2)}` : k);
    writeNpz(file, { [key('W_enc')]: { shape: [d, m], data: t.W_enc }, [key('W_dec')]: { shape: [m, d], data: t.W_dec }, b_enc: { shape: [m], data: t.b_enc }, b_dec: { shape: [d], data: t.b_dec }, threshold: { shape: [m], data: t.threshold } });
    return t;
  }
  const semantics = (t: ReturnType<typeof write>, embedding: boolean): RowSemantics => (x) => {
    const r = embedding ? Math.sqrt(d) : 1; // SAELens: W_enc / √d, W_dec · √d for embedding SAEs
    const pre = vecMat(x, mat(t.W_enc, d, m)).map((v, i) => v / r + t.b_enc[i]);
    const f = pre.map((v, i) => (v > t.threshold[i] ? Math.max(v, 0) : 0));
    return { f, y: vecMat(f, mat(t.W_dec, m, d)).map((v, j) => v * r + t.b_dec[j]) };
  };

  it('lowercase w_enc / w_dec keys read as W_enc / W_dec', async () => {
    const file = path.join(tempDir('gs-lower'), 'layer_3', 'width_16k', 'average_l0_20', 'params.npz');
    const t = write(file, 1, true);
    await expectSameFunction(loadSae(file).sae, semantics(t, false), x, N, 'gemma scope lowercase');
  });

  it('an embedding SAE is rescaled by √d as SAELens does', async () => {
    const file = path.join(tempDir('gs-embed'), 'embedding', 'width_4k', 'average_l0_6', 'params.npz');
    const t = write(file, 2, false);
    await expectSameFunction(loadSae(file, { folder: 'embedding/width_4k/average_l0_6' }).sae, semantics(t, true), x, N, 'gemma scope embedding');
    // a local file: its own folders say so, and a parent directory's name does not
    await expectSameFunction(loadSae(file).sae, semantics(t, true), x, N, 'gemma scope embedding, local path');
    const layer = path.join(tempDir('embedding-runs'), 'layer_3', 'width_16k', 'average_l0_20', 'params.npz');
    const t2 = write(layer, 4, false);
    await expectSameFunction(loadSae(layer).sae, semantics(t2, false), x, N, 'gemma scope layer under an "embedding" directory');
  });

  it('a Gemma Scope transcoder (the same file) imports with its output hook', async () => {
    const file = path.join(tempDir('gs-tc'), 'layer_4', 'width_16k', 'average_l0_9', 'params.npz');
    const t = write(file, 3, false);
    const out = path.join(tempDir('gs-tc-out'), 'sae');
    const sae = importSae(file, out, { layout: 'gemma-scope-transcoder', hook: 'blocks.4.ln2.hook_normalized', hookOut: 'blocks.4.hook_mlp_out' }).sae;
    expect(sae.cfg.d_out).toBe(d);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'cfg.json'), 'utf8')).architecture).toBe('jumprelu_transcoder');
    await expectSameFunction(loadSae(out).sae, semantics(t, false), x, N, 'gemma scope transcoder');
  });
});

// ---- Gemma Scope 2 ----

describe('Gemma Scope 2 params.safetensors + config.json', () => {
  const d = 8;
  const m = 16;
  const x = random(rng(3), N * d, 2);
  function write(dir: string, seed: number, config: Record<string, unknown>, o = d, extra: Record<string, RawTensor> = {}) {
    const next = rng(seed);
    const t = { w_enc: random(next, d * m, 0.6), w_dec: random(next, m * o, 0.6), b_enc: random(next, m, 0.2), b_dec: random(next, o, 0.3), threshold: Float32Array.from({ length: m }, () => 0.05 + 0.2 * next()) };
    writeSafetensorsFile(path.join(dir, 'params.safetensors'), {
      w_enc: { dtype: 'F32', shape: [d, m], data: t.w_enc }, w_dec: { dtype: 'F32', shape: [m, o], data: t.w_dec },
      b_enc: { dtype: 'F32', shape: [m], data: t.b_enc }, b_dec: { dtype: 'F32', shape: [o], data: t.b_dec }, threshold: { dtype: 'F32', shape: [m], data: t.threshold }, ...extra,
    });
    writeJson(path.join(dir, 'config.json'), { width: m, l0: 20, model_name: 'gemma-v3-1b-pt', architecture: 'jump_relu', ...config });
    return { ...t, o };
  }
  const semantics = (t: ReturnType<typeof write>): RowSemantics => (x) => {
    const pre = vecMat(x, mat(t.w_enc, d, m)).map((v, i) => v + t.b_enc[i]);
    const f = pre.map((v, i) => (v > t.threshold[i] ? Math.max(v, 0) : 0));
    return { f, y: vecMat(f, mat(t.w_dec, m, t.o)).map((v, j) => v + t.b_dec[j]) };
  };

  for (const [site, hf, hook] of [
    ['resid_post', 'model.layers.5.output', 'blocks.5.hook_resid_post'],
    ['attn_out', 'model.layers.5.self_attn.o_proj.input', 'blocks.5.attn.hook_z'],
    ['mlp_out', 'model.layers.5.post_feedforward_layernorm.output', 'blocks.5.hook_mlp_out'],
  ] as const) {
    it(`${site}: ${hf} → ${hook}`, async () => {
      const dir = path.join(tempDir(`gs2-${site}`), `${site}`, 'layer_5_width_16k_l0_small');
      const t = write(dir, 4, { hf_hook_point_in: hf });
      const sae = loadSae(dir).sae;
      expect(sae.cfg.metadata.hook_name).toBe(hook);
      expect(sae.cfg.d_out).toBeUndefined();
      await expectSameFunction(sae, semantics(t), x, N, `gemma scope 2 ${site}`);
      expectRoundTrip(dir, x, N);
    });
  }

  it('a transcoder (hf_hook_point_out differs) reads ln2.hook_normalized → hook_mlp_out', async () => {
    const dir = path.join(tempDir('gs2-tc'), 'transcoder_all', 'layer_5_width_16k_l0_small');
    const t = write(dir, 5, { hf_hook_point_in: 'model.layers.5.pre_feedforward_layernorm.output', hf_hook_point_out: 'model.layers.5.post_feedforward_layernorm.output' });
    const sae = loadSae(dir).sae;
    expect(sae.cfg.metadata.hook_name).toBe('blocks.5.ln2.hook_normalized');
    expect(sae.cfg.metadata.hook_name_out).toBe('blocks.5.hook_mlp_out');
    await expectSameFunction(sae, semantics(t), x, N, 'gemma scope 2 transcoder');
    expectRoundTrip(dir, x, N);
  });

  it('refuses affine transcoders, crosscoders and unknown hook points, each with one message', () => {
    const affine = path.join(tempDir('gs2-affine'), 'transcoder_all', 'layer_5_width_16k_l0_small_affine');
    write(affine, 6, { hf_hook_point_in: 'model.layers.5.pre_feedforward_layernorm.output', hf_hook_point_out: 'model.layers.5.post_feedforward_layernorm.output' }, d, { affine_skip_connection: { dtype: 'F32', shape: [d, d], data: new Float32Array(d * d) } });
    expect(() => loadSae(affine)).toThrow(/affine transcoder/);
    const odd = path.join(tempDir('gs2-odd'), 'x');
    write(odd, 7, { hf_hook_point_in: 'model.embed_tokens.output' });
    expect(() => loadSae(odd)).toThrow(/not a hook point interp can name/);
    expect(loadSae(odd, { hook: 'hook_embed' }).sae.cfg.metadata.hook_name).toBe('hook_embed');
  });
});

// ---- Llama Scope ----

describe('Llama Scope hyperparams.json + checkpoints/final.safetensors (bf16)', () => {
  const d = 8;
  const m = 16;
  const x = random(rng(11), N * d, 3);
  function write(dir: string, seed: number, hyper: Record<string, unknown> = {}) {
    const next = rng(seed);
    const t = { enc: random(next, m * d, 0.6), encBias: random(next, m, 0.2), dec: random(next, d * m, 0.6), decBias: random(next, d, 0.3) };
    writeSafetensorsFile(path.join(dir, 'checkpoints', 'final.safetensors'), {
      'encoder.weight': { dtype: 'BF16', shape: [m, d], data: t.enc }, 'encoder.bias': { dtype: 'BF16', shape: [m], data: t.encBias },
      'decoder.weight': { dtype: 'BF16', shape: [d, m], data: t.dec }, 'decoder.bias': { dtype: 'BF16', shape: [d], data: t.decBias },
    });
    writeJson(path.join(dir, 'hyperparams.json'), { d_model: d, d_sae: m, hook_point_in: 'blocks.5.hook_resid_post', hook_point_out: 'blocks.5.hook_resid_post', jump_relu_threshold: 0.07, dataset_average_activation_norm: { in: 5.5, out: 5.5 }, act_fn: 'jumprelu', ...hyper });
    return { enc: bf16Values(t.enc), encBias: bf16Values(t.encBias), dec: bf16Values(t.dec), decBias: bf16Values(t.decBias) };
  }
  /** SAELens: x·s into the encoder (folded), θ·s, output /s. */
  const semantics = (t: ReturnType<typeof write>, s: number, sTheta: number): RowSemantics => (x) => {
    const pre = matVec(mat(t.enc, m, d), x.map((v) => v * s)).map((v, i) => v + t.encBias[i]);
    const f = pre.map((v) => (v > 0.07 * sTheta ? Math.max(v, 0) : 0));
    return { f, y: matVec(mat(t.dec, d, m), f).map((v, j) => (v + t.decBias[j]) / s) };
  };

  it('folds √d / the dataset norm into the weights and scales the scalar threshold', async () => {
    const dir = path.join(tempDir('llama'), 'Llama3_1-8B-Base-L5R-8x');
    const t = write(dir, 1);
    const s = Math.sqrt(d) / 5.5;
    const sae = loadSae(dir).sae;
    expect(sae.cfg.metadata.hook_name).toBe('blocks.5.hook_resid_post');
    await expectSameFunction(sae, semantics(t, s, s), x, N, 'llama scope', 2e-4);
    // with SAELens' registry factor the weights fold that factor (θ keeps the hyperparams' s)
    await expectSameFunction(loadSae(dir, { normScalingFactor: 0.5 }).sae, semantics(t, 0.5, s), x, N, 'llama scope, registry factor', 2e-4);
    expectRoundTrip(dir, x, N);
  });

  it('refuses a Llama Scope transcoder', () => {
    const dir = path.join(tempDir('llama-tc'), 'L5TC');
    write(dir, 2, { hook_point_out: 'blocks.5.hook_mlp_out' });
    expect(() => loadSae(dir)).toThrow(/transcoder/);
  });
});

describe('interp sae import refusals on the command line', () => {
  it('exits non-zero with one message and no stack trace', async () => {
    const dir = path.join(tempDir('cli-refuse'), 'sae');
    writeSaeLens(dir, { d_in: 4, d_sae: 8, activation_fn_str: 'tanh-relu' }, saeLensTensors(1, 4, 8));
    const r = await runCli(['sae', 'import', dir, '--out', path.join(tempDir('cli-out'), 'x')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/tanh-relu/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--norm-scaling-factor makes a local expected_average_only_in SAE readable (refused without it, naming the flag)', async () => {
    const dir = path.join(tempDir('cli-nsf'), 'sae');
    const t = saeLensTensors(2, 4, 8);
    writeSaeLens(dir, { d_in: 4, d_sae: 8, hook_point: 'blocks.0.hook_resid_pre', normalize_activations: true }, t);
    const out = path.join(tempDir('cli-nsf-out'), 'x');
    const refused = await runCli(['sae', 'import', dir, '--out', out]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--norm-scaling-factor/);
    expect(fs.existsSync(out)).toBe(false);
    const r = await runCli(['sae', 'import', dir, '--out', out, '--norm-scaling-factor', '1.9']);
    expect(r.code, r.stderr).toBe(0);
    const x = random(rng(3), 5 * 4, 2);
    const want = runReference(saeLensSemantics(t, { activation: 'relu', applyBDec: true, inputScale: 1.9 }), x, 5, 4);
    const sae = loadSae(out).sae;
    expectClose(decodeReference(sae, encodeReference(sae, x, 5), 5, x), flat(want.y), 1e-4, 1e-4, 'folded on the command line');
  });
});
