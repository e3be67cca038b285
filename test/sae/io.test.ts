/** SAE checkpoints: SAELens round trip, hand-made files, sparsify and Gemma Scope imports, refusals. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/model/index.js';
import { importSae, loadSae, recoverInterruptedSwap, saveSae } from '../../sae/io.js';
import { parseNpy, readNpz } from '../../sae/npz.js';
import { encodeReference, decodeReference, type Sae } from '../../sae/sae.js';
import { randomSae, tempDir } from './helpers.js';
import { npyBytes, npyHeader, zip } from '../helpers/npz.js';
import { randomArray, rng } from '../engine/helpers.js';

const [d, m] = [6, 20];
const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const x = Float32Array.from(randomArray(rng(3), 9 * d, -2, 2));

function sameEncoding(a: Sae, b: Sae): void {
  expect([...encodeReference(b, x, 9)]).toEqual([...encodeReference(a, x, 9)]);
  const f = encodeReference(a, x, 9);
  expect([...decodeReference(b, f, 9)]).toEqual([...decodeReference(a, f, 9)]);
}

function npy(data: Float32Array, shape: number[], options: { descr?: string; fortran?: boolean } = {}): Buffer {
  return npyBytes(npyHeader(options.descr ?? '<f4', shape, options.fortran), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

describe('SAELens layout', () => {
  for (const arch of ['relu', 'topk', 'jumprelu'] as const) {
    it(`${arch}: a checkpoint written and read back gives identical encodings (and its sparsity)`, () => {
      const dir = path.join(tempDir('io'), 'sae');
      const sae = randomSae(arch, d, m, 5);
      const sparsity = Float32Array.from({ length: m }, (_, i) => -i / 4);
      saveSae(dir, sae, { sparsity });
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8'));
      expect(cfg.architecture).toBe(arch === 'relu' ? 'standard' : arch);
      expect(cfg.normalize_activations).toBe('none');
      expect(Number(cfg.metadata.sae_lens_version.split('.')[0])).toBeGreaterThanOrEqual(6);
      const loaded = loadSae(dir);
      expect(loaded.layout).toBe('saelens');
      expect([...loaded.sparsity!]).toEqual([...sparsity]);
      sameEncoding(sae, loaded.sae);
    });
  }

  it('a hand-made SAELens folder (written without interp) loads with identical encodings', () => {
    const dir = tempDir('hand');
    const sae = randomSae('jumprelu', d, m, 8);
    const w = sae.weights;
    fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify({ architecture: 'jumprelu', d_in: d, d_sae: m, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true, normalize_activations: 'none', metadata: { sae_lens_version: '6.5.1', hook_name: 'blocks.1.hook_resid_post' } }));
    writeSafetensors(path.join(dir, 'sae_weights.safetensors'), {
      b_dec: { dtype: 'F32', shape: [d], data: w.b_dec }, threshold: { dtype: 'F32', shape: [m], data: w.threshold! },
      W_dec: { dtype: 'F32', shape: [m, d], data: w.W_dec }, W_enc: { dtype: 'F32', shape: [d, m], data: w.W_enc }, b_enc: { dtype: 'F32', shape: [m], data: w.b_enc },
    });
    sameEncoding(sae, loadSae(dir).sae);
  });

  it('overwriting a checkpoint replaces it whole and leaves no temporary folders', () => {
    const root = tempDir('over');
    const dir = path.join(root, 'sae');
    saveSae(dir, randomSae('relu', d, m, 1));
    saveSae(dir, randomSae('topk', d, m, 2));
    expect(fs.readdirSync(root)).toEqual(['sae']);
    expect(loadSae(dir).sae.cfg.architecture).toBe('topk');
  });

  it('a save killed between its two renames is recovered (the previous folder is put back)', () => {
    const root = tempDir('swap');
    const dir = path.join(root, 'ckpt');
    saveSae(dir, randomSae('relu', d, m, 1));
    fs.renameSync(dir, `${dir}.old-123.abcd`);
    fs.mkdirSync(`${dir}.tmp-123.abcd`);
    expect(recoverInterruptedSwap(dir)).toBe(true);
    expect(fs.readdirSync(root)).toEqual(['ckpt']);
    expect(loadSae(dir).sae.cfg.architecture).toBe('relu');
  });

  it('a save killed while removing the folder it replaced leaves no trace once recovered or saved again', () => {
    const root = tempDir('half-removed');
    const dir = path.join(root, 'ckpt');
    saveSae(dir, randomSae('relu', d, m, 1));
    // The kill came after the second rename, part way through removing the previous copy.
    fs.mkdirSync(`${dir}.old-123.abcd`);
    fs.writeFileSync(`${dir}.old-123.abcd/sae_weights.safetensors`, 'partial');
    expect(recoverInterruptedSwap(dir)).toBe(false);
    expect(fs.readdirSync(root)).toEqual(['ckpt']);
    fs.mkdirSync(`${dir}.old-456.ef01`);
    saveSae(dir, randomSae('topk', d, m, 2));
    expect(fs.readdirSync(root)).toEqual(['ckpt']);
    expect(loadSae(dir).sae.cfg.architecture).toBe('topk');
  });

  it('refuses weights whose shape disagrees with cfg.json, naming the tensor', () => {
    const dir = path.join(tempDir('bad'), 'sae');
    saveSae(dir, randomSae('relu', d, m, 1));
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify({ ...cfg, d_sae: m + 1 }));
    expect(() => loadSae(dir)).toThrow(/W_enc" is \[6, 20\], expected \[6, 21\]/);
  });
});

describe('imports', () => {
  it('sparsify: encoder.weight [n, d] and W_dec [n, d] (or transposed) give the same SAE', () => {
    const sae = randomSae('topk', d, m, 9, 4);
    const w = sae.weights;
    for (const decoderTransposed of [false, true]) {
      const root = tempDir('sparsify');
      const hookDir = path.join(root, 'layers.1');
      fs.mkdirSync(hookDir);
      fs.writeFileSync(path.join(hookDir, 'cfg.json'), JSON.stringify({ activation: 'topk', expansion_factor: m / d, normalize_decoder: true, num_latents: m, k: 4, d_in: d }));
      writeSafetensors(path.join(hookDir, 'sae.safetensors'), {
        'encoder.weight': { dtype: 'F32', shape: [m, d], data: transposed(w.W_enc, d, m) },
        'encoder.bias': { dtype: 'F32', shape: [m], data: w.b_enc },
        W_dec: decoderTransposed ? { dtype: 'F32', shape: [d, m], data: transposed(w.W_dec, m, d) } : { dtype: 'F32', shape: [m, d], data: w.W_dec },
        b_dec: { dtype: 'F32', shape: [d], data: w.b_dec },
      });
      const loaded = loadSae(root); // the run folder with one hook folder
      expect(loaded.layout).toBe('sparsify');
      sameEncoding(sae, loaded.sae);
      const out = path.join(root, 'converted');
      importSae(hookDir, out, { hook: 'blocks.1.hook_resid_post' });
      const back = loadSae(out);
      expect(back.layout).toBe('saelens');
      expect(back.sae.cfg.metadata.hook_name).toBe('blocks.1.hook_resid_post');
      sameEncoding(sae, back.sae);
    }
  });

  for (const deflate of [false, true]) {
    it(`Gemma Scope params.npz (${deflate ? 'deflated' : 'stored'}, one array in Fortran order) gives the same SAE`, () => {
      const sae = randomSae('jumprelu', d, m, 12);
      const w = sae.weights;
      const dir = tempDir('gemma');
      const arrays = {
        'W_enc.npy': npy(transposed(w.W_enc, d, m), [d, m], { fortran: true }),
        'W_dec.npy': npy(w.W_dec, [m, d]), 'b_enc.npy': npy(w.b_enc, [m]), 'b_dec.npy': npy(w.b_dec, [d]), 'threshold.npy': npy(w.threshold!, [m]),
      };
      fs.writeFileSync(path.join(dir, 'params.npz'), zip(Object.entries(arrays).map(([name, data]) => ({ name, data })), deflate));
      const loaded = loadSae(dir);
      expect(loaded.layout).toBe('gemma-scope');
      expect(loaded.sae.cfg.apply_b_dec_to_input).toBe(false);
      const expected: Sae = { ...sae, cfg: { ...sae.cfg, apply_b_dec_to_input: false } };
      sameEncoding(expected, loaded.sae);
    });
  }

  for (const file of ['numpy-savez.npz', 'numpy-savez-compressed.npz']) {
    it(`reads ${file} as NumPy wrote it (zip64 headers${file.includes('compressed') ? ', deflate, Fortran order' : ''})`, () => {
      const dir = tempDir('numpy');
      fs.copyFileSync(path.join(FIXTURES, file), path.join(dir, 'params.npz'));
      const { sae } = loadSae(dir);
      const x = parseNpy(fs.readFileSync(path.join(FIXTURES, 'numpy-x.npy')), 'x');
      expect(encodeReference(sae, x.data, 3).reduce((a, v) => a + v, 0)).toBeCloseTo(72.403564, 4); // numpy's value (fixtures/README.md)
    });
  }

  it('refuses an object array written by NumPy, naming the array', () => {
    expect(() => readNpz(path.join(FIXTURES, 'numpy-object-array.npz'))).toThrow(/numpy-object-array\.npz:W_enc\.npy: an object array, which would need unpickling \(refused\)/);
  });

  it('refuses object arrays in .npy (never unpickles)', () => {
    expect(() => parseNpy(npy(new Float32Array(4), [4], { descr: '|O' }), 'x.npy')).toThrow(/object array/);
  });

  it('names what is missing in a folder of none of the layouts', () => {
    expect(() => loadSae(tempDir('empty'))).toThrow(/not an SAE folder of any layout interp reads: SAELens .* Gemma Scope 2 .* Llama Scope/);
  });
});
