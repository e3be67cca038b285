/**
 * Gemma Scope (Gemma 2): FOLDER/params.npz with W_enc [d, m], W_dec [m, d], b_enc [m], b_dec [d],
 * threshold [m], JumpReLU, no b_dec subtraction. Read as SAELens' gemma_2_sae_huggingface_loader
 * and gemma_2_transcoder_huggingface_loader read it (jbloomAus/SAELens 91ca16cc,
 * sae_lens/loading/pretrained_sae_loaders.py):
 *
 * - keys "w_*" are "W_*" (some releases write them lowercase);
 * - a scaling_factor array of ones is dropped, any other refused (finetuning_scaling_factor);
 * - an "embedding" SAE (folder name contains "embedding") was trained on embeddings without
 *   Gemma's √d_model: W_enc / √d, W_dec · √d, so it reads interp's hook_embed (the scaled value);
 * - transcoders (the gemma-scope-2b-pt-transcoders release) are the same file read as a
 *   jumprelu_transcoder: input blocks.L.ln2.hook_normalized, output blocks.L.hook_mlp_out.
 */
import path from 'node:path';
import { FileFormatError, ShapeMismatchError, UsageError } from '../../src/errors.js';
import type { NpyArray } from '../npz.js';
import { readNpz } from '../npz.js';
import { checkSae, type Sae, type SaeConfig } from '../sae.js';
import { INPUT_AFTER_NORM_WEIGHT, metadataFrom, transposeOf, type ReaderOptions } from './common.js';

export function readGemmaScope(file: string, options: ReaderOptions = {}): Sae {
  const arrays = new Map<string, NpyArray>();
  for (const [key, value] of readNpz(file)) arrays.set(key.startsWith('w_') ? `W_${key.slice(2)}` : key, value);
  const get = (name: string) => {
    const a = arrays.get(name);
    if (!a) throw new FileFormatError(`${file}: no array ${name} (has ${[...arrays.keys()].join(', ')})`, 'a Gemma Scope params.npz holds W_enc, W_dec, b_enc, b_dec, threshold');
    return a;
  };
  const enc = get('W_enc');
  if (enc.shape.length !== 2) throw new ShapeMismatchError(`${file}: W_enc is [${enc.shape.join(', ')}], expected [d_in, d_sae]`, 'check the file');
  const [d, m] = enc.shape;
  const dec = get('W_dec');
  const W_dec = dec.shape[0] === m && dec.shape[1] === d ? dec.data : dec.shape[0] === d && dec.shape[1] === m ? transposeOf(dec.data, d, m) : null;
  if (!W_dec) throw new ShapeMismatchError(`${file}: W_dec is [${dec.shape.join(', ')}], expected [${m}, ${d}]`, 'check the file');
  const vector = (name: string, n: number) => {
    const a = get(name);
    if (a.data.length !== n) throw new ShapeMismatchError(`${file}: ${name} has ${a.data.length} values, expected ${n}`, 'check the file');
    return a.data;
  };
  const scaling = arrays.get('scaling_factor');
  if (scaling && scaling.data.some((v) => v !== 1)) {
    throw new UsageError(`${file}: a scaling_factor that is not all ones (SAELens' finetuning_scaling_factor)`, 'fold it into W_dec first; interp reads Gemma Scope SAEs without a fine-tuning scale');
  }
  // SAELens tests the release's folder name (e.g. embedding/width_4k/average_l0_6); a local file's is
  // the three folders above params.npz, so a parent directory's name cannot trigger the rescale.
  const folder = options.folder ?? path.dirname(file).split(path.sep).slice(-3).join('/');
  const embedding = folder.includes('embedding');
  const root = Math.sqrt(d);
  const transcoder = options.hookOut !== undefined;
  const cfg: SaeConfig = {
    architecture: 'jumprelu', d_in: d, d_sae: m, ...(transcoder ? { d_out: d } : {}), k: null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: false,
    normalize_activations: 'none', reshape_activations: 'none',
    // Gemma Scope's transcoders read the MLP input, after the norm's weight (see input-norm.ts).
    metadata: { ...metadataFrom({}), ...(transcoder ? { hook_name_out: options.hookOut, [INPUT_AFTER_NORM_WEIGHT]: true } : {}) },
  };
  const sae: Sae = {
    cfg,
    weights: {
      W_enc: embedding ? enc.data.map((v) => v / root) : enc.data,
      W_dec: embedding ? W_dec.map((v) => v * root) : W_dec,
      b_enc: vector('b_enc', m),
      b_dec: vector('b_dec', d),
      threshold: vector('threshold', m),
    },
  };
  checkSae(sae, file);
  return sae;
}
