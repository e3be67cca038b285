/**
 * Llama Scope (fnlp/Llama3_1-8B-Base-LX{R,A,M}-{8,32}x): FOLDER/hyperparams.json +
 * FOLDER/checkpoints/final.safetensors. Read as SAELens reads it (jbloomAus/SAELens 91ca16cc,
 * sae_lens/loading/pretrained_sae_loaders.py get_llama_scope_config_from_hf and
 * llama_scope_sae_huggingface_loader, then SAE.from_pretrained's fold in saes/sae.py):
 *
 *   final.safetensors  encoder.weight [m, d], encoder.bias [m], decoder.weight [d, m], decoder.bias [d] (bf16)
 *   hyperparams.json   d_model, d_sae, hook_point_in (a TransformerLens name), jump_relu_threshold (one
 *                      scalar for every latent), dataset_average_activation_norm.in
 *
 *   s = √d_model / dataset_average_activation_norm.in   (the release normalises inputs to norm √d)
 *   W_enc = encoder.weightᵀ · s, W_dec = decoder.weightᵀ / s, b_dec = decoder.bias / s,
 *   b_enc = encoder.bias, θ_i = jump_relu_threshold · s;  JumpReLU, no b_dec subtraction.
 *
 * SAELens folds the norm_scaling_factor of its registry (the caller's normScalingFactor) into the
 * weights and scales θ by the s of hyperparams.json; interp does the same, and folds s itself
 * when no registry factor is given (where SAELens would warn and leave the weights unfolded).
 * Transcoders (hook_point_out ≠ hook_point_in, with their own output norm) are refused.
 */
import path from 'node:path';
import { FileFormatError, UsageError, describeValue } from '../../src/errors.js';
import { openSafetensors } from '../../src/model/index.js';
import { checkSae, type Sae, type SaeConfig } from '../sae.js';
import { foldInputScale, intField, metadataFrom, readJson, tensorOf, transposeOf, type ReaderOptions } from './common.js';

export const LLAMA_SCOPE_CONFIG = 'hyperparams.json';
export const LLAMA_SCOPE_WEIGHTS = path.join('checkpoints', 'final.safetensors');

export function readLlamaScope(dir: string, options: ReaderOptions = {}): Sae {
  const cfgFile = path.join(dir, LLAMA_SCOPE_CONFIG);
  const raw = readJson(cfgFile);
  const d = intField(raw, 'd_model', cfgFile);
  const m = intField(raw, 'd_sae', cfgFile);
  const hook = raw.hook_point_in;
  if (typeof hook !== 'string' || hook.length === 0) throw new FileFormatError(`${cfgFile}: hook_point_in is ${describeValue(hook)}`, 'a Llama Scope hyperparams.json names its hook in hook_point_in');
  if (raw.hook_point_out !== undefined && raw.hook_point_out !== hook) {
    throw new UsageError(`${cfgFile}: a Llama Scope transcoder (hook_point_out ${describeValue(raw.hook_point_out)} ≠ hook_point_in)`, 'interp reads Llama Scope SAEs; their transcoders normalise input and output separately, which SAELens does not read either');
  }
  const norms = raw.dataset_average_activation_norm as Record<string, unknown> | undefined;
  const normIn = norms?.in;
  if (typeof normIn !== 'number' || !(normIn > 0)) throw new FileFormatError(`${cfgFile}: dataset_average_activation_norm.in is ${describeValue(normIn)}`, 'the release gives the mean input norm it was trained with');
  const theta = raw.jump_relu_threshold;
  if (typeof theta !== 'number' || !Number.isFinite(theta)) throw new FileFormatError(`${cfgFile}: jump_relu_threshold is ${describeValue(theta)}`, 'a Llama Scope hyperparams.json gives one JumpReLU threshold');
  const s = Math.sqrt(d) / normIn;

  const w = openSafetensors(path.join(dir, LLAMA_SCOPE_WEIGHTS));
  const cfg: SaeConfig = {
    architecture: 'jumprelu', d_in: d, d_sae: m, k: null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: false,
    normalize_activations: 'none', reshape_activations: 'none',
    metadata: { ...metadataFrom({}, { hook_name: hook, model_name: 'meta-llama/Llama-3.1-8B' }), dataset_average_activation_norm_in: normIn },
  };
  const sae: Sae = {
    cfg,
    weights: {
      W_enc: transposeOf(tensorOf(w, 'encoder.weight', [m, d])!, m, d),
      W_dec: transposeOf(tensorOf(w, 'decoder.weight', [d, m])!, d, m),
      b_enc: tensorOf(w, 'encoder.bias', [m])!,
      b_dec: tensorOf(w, 'decoder.bias', [d])!,
      threshold: new Float32Array(m).fill(theta * s),
    },
  };
  checkSae(sae, dir);
  return foldInputScale(sae, options.normScalingFactor ?? s, cfgFile);
}
