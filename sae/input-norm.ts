/**
 * Folding a block's pre-norm weight into a transcoder that reads `blocks.L.ln1/ln2.hook_normalized`.
 *
 * TransformerLens' (and interp's) hook_normalized is the norm's output *before* its weight and
 * bias, x̂. Transcoders trained on the MLP's actual input (Gemma Scope 1 and 2: Hugging Face's
 * pre_feedforward_layernorm output) read x̂ ⊙ g + b instead, g the weight (1 + w for Gemma's
 * RMSNorm) and b the bias (LayerNorm only). SAELens names their hook ln2.hook_normalized anyway,
 * so spliced there they see x̂ without the gain. Folding g and b into the transcoder makes it read
 * x̂ exactly (shapes: d = d_in, m = d_sae, o = d_out):
 *
 *   pre  = (x̂ ⊙ g + b) W_enc + b_enc = x̂ (diag(g) W_enc) + (b W_enc + b_enc)
 *   skip = (x̂ ⊙ g + b) W_skipᵀ      = x̂ (W_skip diag(g))ᵀ + b W_skipᵀ   (added to b_dec)
 *
 * Transcoders only: an SAE would also have to reconstruct x̂ rather than x̂ ⊙ g + b.
 */
import { UsageError } from '../src/errors.js';
import { isTranscoder, type Sae } from './sae.js';
import { readWeight, type WeightsSource } from './model-weights.js';

/** The block norm whose output `hook` is: blocks.L.ln1 / ln2.hook_normalized. */
function normOf(hook: string): { layer: number; which: 'ln1' | 'ln2' } | null {
  const m = /^blocks\.(\d+)\.(ln1|ln2)\.hook_normalized$/.exec(hook);
  return m ? { layer: Number(m[1]), which: m[2] as 'ln1' | 'ln2' } : null;
}

/** The transcoder rewritten to read `sae.cfg.metadata.hook_name` as interp computes it, with `model`'s norm folded in. */
export function foldInputNorm(sae: Sae, model: WeightsSource, where: string): Sae {
  const hook = sae.cfg.metadata.hook_name;
  const at = normOf(hook);
  if (!isTranscoder(sae.cfg)) throw new UsageError(`${where}: --fold-input-norm applies to transcoders`, 'an SAE reconstructs its own input; fold the norm only into a transcoder reading ln1/ln2.hook_normalized');
  if (!at) throw new UsageError(`${where}: the transcoder reads ${hook || '(no hook)'}, not a block norm's hook_normalized`, 'fold the input norm only into a transcoder on blocks.L.ln1.hook_normalized or blocks.L.ln2.hook_normalized');
  const { nLayers, dModel } = model.family.config;
  if (at.layer >= nLayers) throw new UsageError(`${where}: the transcoder reads layer ${at.layer}, the model has ${nLayers}`, 'give the model the transcoder was trained on');
  const { d_in: d, d_sae: m } = sae.cfg;
  if (d !== dModel) throw new UsageError(`${where}: the transcoder's d_in is ${d}, the model's d_model ${dModel}`, 'give the model the transcoder was trained on');
  const norm = model.family.blockNorms(at.layer)[at.which];
  const weight = readWeight(model, norm.weight);
  if (!weight) throw new UsageError(`${where}: the model has no ${norm.weight}`, 'give the model the transcoder was trained on');
  const gain = norm.unitOffset ? weight.map((w) => 1 + w) : weight;
  const bias = norm.bias ? readWeight(model, norm.bias) : null;

  const w = sae.weights;
  const o = sae.cfg.d_out as number;
  const W_enc = new Float32Array(d * m);
  const b_enc = Float64Array.from(w.b_enc);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < m; i++) {
      W_enc[j * m + i] = gain[j] * w.W_enc[j * m + i];
      if (bias) b_enc[i] += bias[j] * w.W_enc[j * m + i];
    }
  }
  let W_skip = w.W_skip ?? null;
  const b_dec = Float64Array.from(w.b_dec);
  if (W_skip) {
    const folded = new Float32Array(o * d);
    for (let r = 0; r < o; r++) {
      for (let j = 0; j < d; j++) {
        folded[r * d + j] = W_skip[r * d + j] * gain[j];
        if (bias) b_dec[r] += W_skip[r * d + j] * bias[j];
      }
    }
    W_skip = folded;
  }
  return {
    cfg: { ...sae.cfg, metadata: { ...sae.cfg.metadata, interp_input_norm_folded: { weight: norm.weight, ...(norm.bias ? { bias: norm.bias } : {}), unit_offset: Boolean(norm.unitOffset) } } },
    weights: { ...w, W_enc, b_enc: Float32Array.from(b_enc), b_dec: Float32Array.from(b_dec), W_skip },
  };
}
