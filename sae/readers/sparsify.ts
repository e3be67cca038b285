/**
 * EleutherAI sparsify: DIR/cfg.json + DIR/sae.safetensors, one folder per hookpoint. Read as
 * sparsify computes it (EleutherAI/sparsify 9d3b136, sparsify/sparse_coder.py, fused_encoder.py):
 *
 *   encode:  pre = relu((transcode ? x : x − b_dec) @ encoder.weightᵀ + encoder.bias); top-k of pre
 *   decode:  y = top_acts @ W_dec + b_dec        W_dec [num_latents, d_in], b_dec [d_in]
 *   forward: + x @ W_skipᵀ when skip_connection   W_skip [d_in, d_in]
 *
 * So the b_dec subtraction follows `transcode`, not `normalize_decoder` as SAELens' sparsify
 * loader assumes (its apply_b_dec_to_input = not normalize_decoder); interp follows sparsify.
 * A transcoder (transcode) or an SAE with a skip term is saved as a SAELens transcoder (an SAE
 * with a skip term is one whose output is read at its own hook), with the b_dec subtraction
 * folded into b_enc (common.ts foldInputBias). "groupmax" activations are refused.
 *
 * Hooks, as SAELens' get_sparsify_config_from_disk maps folder names: embed_tokens → hook_embed,
 * layers.N / layers_N → blocks.N.hook_resid_post; other folders keep their name unless the caller
 * names the hook.
 */
import path from 'node:path';
import { ShapeMismatchError, UsageError, describeValue } from '../../src/errors.js';
import { openSafetensors } from '../../src/model/index.js';
import { checkSae, type Sae, type SaeConfig } from '../sae.js';
import { foldInputBias, metadataFrom, readJson, shapeOf, tensorOf, transposeOf, type ReaderOptions } from './common.js';

export const SPARSIFY_WEIGHTS_FILE = 'sae.safetensors';

/** The interp hook of a sparsify hookpoint folder, where SAELens' mapping knows it. */
export function sparsifyHook(folder: string): string | null {
  if (folder === 'embed_tokens') return 'hook_embed';
  const layer = /^(?:model\.)?layers[._](\d+)$/.exec(folder);
  return layer ? `blocks.${layer[1]}.hook_resid_post` : null;
}

export function readSparsify(dir: string, options: ReaderOptions = {}): Sae {
  const cfgFile = path.join(dir, 'cfg.json');
  const raw = readJson(cfgFile);
  if (raw.activation !== undefined && raw.activation !== 'topk') {
    throw new UsageError(`${cfgFile}: activation ${describeValue(raw.activation)}`, 'interp reads sparsify TopK coders; groupmax computes a different function');
  }
  if (raw.normalize_io === true) throw new UsageError(`${cfgFile}: normalize_io is true (the input norms are not stored with the weights)`, 'train without normalize_io, or fold the norms into the weights first');
  if (raw.signed === true) throw new UsageError(`${cfgFile}: signed is true`, 'interp reads unsigned sparsify TopK coders');
  const w = openSafetensors(path.join(dir, SPARSIFY_WEIGHTS_FILE));
  const enc = shapeOf(w, 'encoder.weight');
  if (enc.length !== 2) throw new ShapeMismatchError(`${w.source}: encoder.weight is [${enc.join(', ')}], expected [num_latents, d_in]`, 'check the file');
  const [m, d] = enc;
  const W_enc = transposeOf(tensorOf(w, 'encoder.weight', [m, d])!, m, d); // [m, d] → [d, m]
  // sparsify stores W_dec [m, d]; some converters write its transpose: accept either by shape.
  const dec = shapeOf(w, 'W_dec');
  const W_dec = dec[0] === m && dec[1] === d ? tensorOf(w, 'W_dec', [m, d])! : transposeOf(tensorOf(w, 'W_dec', [d, m])!, d, m);
  const W_skip = tensorOf(w, 'W_skip', [d, d], true);
  if (raw.skip_connection === true && !W_skip) throw new ShapeMismatchError(`${w.source}: skip_connection is true but there is no W_skip [${d}, ${d}]`, 'the checkpoint is incomplete');
  const transcode = raw.transcode === true;
  const k = raw.k;
  if (typeof k !== 'number' || !Number.isInteger(k)) throw new UsageError(`${cfgFile}: k is ${describeValue(k)}`, 'a sparsify cfg.json gives k, the active latents per token');

  const folder = path.basename(dir);
  const hook = sparsifyHook(folder) ?? folder;
  const asTranscoder = transcode || W_skip !== null;
  if (transcode && !options.hookOut) {
    throw new UsageError(
      `${dir}: a sparsify transcoder for hookpoint "${folder}"; sparsify does not record which interp hooks its input and output are`,
      'pass --hook (its input, e.g. blocks.L.ln2.hook_normalized) and --hook-out (its output, e.g. blocks.L.hook_mlp_out)',
    );
  }
  const cfg: SaeConfig = {
    architecture: 'topk', d_in: d, d_sae: m, ...(asTranscoder ? { d_out: d } : {}), k, dtype: 'float32', device: 'cpu',
    apply_b_dec_to_input: !transcode, normalize_activations: 'none', reshape_activations: 'none', rescale_acts_by_decoder_norm: false,
    metadata: { ...metadataFrom({}, { hook_name: hook }), ...(asTranscoder ? { hook_name_out: options.hookOut ?? hook } : {}) },
  };
  let sae: Sae = { cfg, weights: { W_enc, W_dec, b_enc: tensorOf(w, 'encoder.bias', [m])!, b_dec: tensorOf(w, 'b_dec', [d])!, threshold: null, W_skip } };
  // A skip SAE still subtracts b_dec before encoding; as a transcoder it must not, so fold it.
  if (asTranscoder && cfg.apply_b_dec_to_input) sae = foldInputBias(sae);
  checkSae(sae, dir);
  return sae;
}
