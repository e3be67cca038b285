/** Synthetic captures and SAEs for the SAE suites. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CaptureWriter, type CaptureHeader } from '../../src/store/index.js';
import type { Sae, SaeArchitecture } from '../../sae/sae.js';
import { SAE_LENS_VERSION } from '../../sae/io.js';
import { rng } from '../engine/helpers.js';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `interp-sae-${prefix}-`));
}

export const HOOK = 'blocks.1.hook_resid_post';

export function captureHeader(d: number, hook = HOOK): CaptureHeader {
  return {
    model: { id: 'synthetic', dir: '/models/synthetic', hash: 'hash-synthetic', revision: null, family: 'llama', weights: 'raw' },
    dataset: { path: 'synthetic.jsonl', sha256: 'sha-synthetic', sequences: 100000 },
    hooks: [{ name: hook, d }],
    dtype: 'f32',
    policy: { prependBos: true },
    positions: 'all',
    context: 32,
    seed: 0,
    command: ['test'],
    versions: { interp: '0.1.0', onnxruntime: '1.30.0', node: 'v20' },
    label_columns: [],
  };
}

/**
 * A capture of `sequences` sequences of `len` tokens whose rows are sparse non-negative
 * combinations of `atoms` random unit directions (3 active per row) plus small noise and an
 * offset: an SAE with enough latents can learn it.
 */
export function syntheticCapture(dir: string, o: { d: number; sequences: number; len: number; atoms: number; seed?: number; shardRows?: number }): string {
  const next = rng(o.seed ?? 1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const atoms = Array.from({ length: o.atoms }, () => {
    const v = Array.from({ length: o.d }, normal);
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
  const offset = Array.from({ length: o.d }, () => 0.5 * normal());
  const w = CaptureWriter.open(dir, captureHeader(o.d), { shardRows: o.shardRows ?? 2000, recordBatchRows: 500 });
  for (let s = 0; s < o.sequences; s += 10) {
    const seq: number[] = [];
    const pos: number[] = [];
    for (let q = s; q < Math.min(o.sequences, s + 10); q++) for (let p = 0; p < o.len; p++) (seq.push(q), pos.push(p));
    const x = new Float32Array(seq.length * o.d);
    for (let r = 0; r < seq.length; r++) {
      for (let j = 0; j < o.d; j++) x[r * o.d + j] = offset[j] + 0.02 * normal();
      for (let a = 0; a < 3; a++) {
        const atom = atoms[Math.floor(next() * o.atoms)];
        const c = 1 + 3 * next();
        for (let j = 0; j < o.d; j++) x[r * o.d + j] += c * atom[j];
      }
    }
    w.append({ seq: Int32Array.from(seq), pos: Int32Array.from(pos), tokenId: Int32Array.from(pos, (p) => p % 7), token: pos.map((p) => `t${p % 7}`), hooks: { [HOOK]: x } });
  }
  w.finish();
  return dir;
}

/** A random SAE of the given architecture (threshold for jumprelu, k for topk). */
export function randomSae(arch: SaeArchitecture, d: number, m: number, seed: number, k = 3): Sae {
  const next = rng(seed);
  const r = (n: number, s = 1) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * s);
  return {
    cfg: {
      architecture: arch, d_in: d, d_sae: m, k: arch === 'topk' ? k : null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true,
      normalize_activations: 'none', reshape_activations: 'none',
      metadata: { sae_lens_version: SAE_LENS_VERSION, model_name: 'synthetic', hook_name: HOOK, hook_head_index: null, context_size: 32, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
    },
    weights: { W_enc: r(d * m, 0.5), W_dec: r(m * d, 0.5), b_enc: r(m, 0.2), b_dec: r(d, 0.3), threshold: arch === 'jumprelu' ? Float32Array.from({ length: m }, () => 0.1 + 0.3 * next()) : null },
  };
}

/**
 * W_enc = [I, −I] [d, 2d] and W_dec = [I; −I] [2d, d]: with zero biases and a ReLU (or a JumpReLU at
 * θ = 0), relu(x) − relu(−x) = x, an exact identity dictionary.
 */
export function identityDictionary(d: number): { W_enc: Float32Array; W_dec: Float32Array } {
  const m = 2 * d;
  const W_enc = new Float32Array(d * m);
  const W_dec = new Float32Array(m * d);
  for (let j = 0; j < d; j++) {
    W_enc[j * m + j] = 1;
    W_enc[j * m + d + j] = -1;
    W_dec[j * d + j] = 1;
    W_dec[(d + j) * d + j] = -1;
  }
  return { W_enc, W_dec };
}
