/**
 * Direct logit effects of SAE latents: which tokens a latent's decoder direction promotes or
 * suppresses when written into the residual stream and read straight out through the unembedding,
 *
 *   effect_l = W_U (g ⊙ W_dec[l])      [V]
 *
 * where g is the final norm's weight (1 + w where the family's RMSNorm stores w − 1, as Gemma's)
 * and W_U the unembedding (`lm_head.weight`, or the tied input embedding); the family names both. The norm's scale (1/‖x‖) and any
 * bias are left out, as in SAE dashboards (sae_vis, Neuronpedia): they shift or scale every
 * token alike and do not change the ranking. Meaningful only for outputs in the residual basis
 * (the decoder rows' width d_out = d_model: an SAE's d_in, a transcoder's d_out, e.g. one
 * writing hook_mlp_out); other dictionaries get no logit table.
 *
 * Shapes: V = vocabulary, d = d_model = width of a W_dec row, m = d_sae.
 */
import { outputWidth, type Sae } from './sae.js';
import { openWeightsSource, readWeight, type WeightsSource } from './model-weights.js';

/** The model parts logit effects read: its checkpoint and its family (a HookedTransformer has both). */
export type UnembeddingSource = WeightsSource;

/** Opens a model directory or hub id for its weights only (no runtime graph). */
export const openUnembedding = openWeightsSource;

export interface TokenEffect {
  readonly tokenId: number;
  readonly token: string;
  readonly value: number;
}

export interface LogitEffect {
  readonly latent: number;
  /** Most promoted tokens, largest first. */
  readonly positive: readonly TokenEffect[];
  /** Most suppressed tokens, most negative first. */
  readonly negative: readonly TokenEffect[];
}

/**
 * Top ±`count` logit effects of each latent in `latents`, or null when the decoder rows' width is
 * not d_model (not a residual-stream SAE or transcoder output) or the checkpoint lacks the weights.
 */
export function logitEffects(model: UnembeddingSource, sae: Sae, latents: readonly number[], count = 10): Map<number, LogitEffect> | null {
  const d = model.family.config.dModel;
  const V = model.family.config.vocabSize;
  if (outputWidth(sae.cfg) !== d) return null;
  const names = model.family.unembedding(new Set(model.source.weights.tensors.keys()));
  const stored = readWeight(model, names.normWeight);
  const g = stored && names.normUnitOffset ? stored.map((w) => 1 + w) : stored;
  const W_U = readWeight(model, names.unembed);
  if (!g || !W_U || W_U.length !== V * d) return null;
  const tokenizer = model.source.tokenizer;
  const out = new Map<number, LogitEffect>();
  const direction = new Float64Array(d);
  const effect = new Float64Array(V);
  for (const l of latents) {
    for (let j = 0; j < d; j++) direction[j] = g[j] * sae.weights.W_dec[l * d + j];
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += W_U[v * d + j] * direction[j];
      effect[v] = s;
    }
    const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => effect[b] - effect[a] || a - b);
    const entry = (v: number): TokenEffect => ({ tokenId: v, token: tokenizer?.tokenDisplay(v) ?? `#${v}`, value: effect[v] });
    out.set(l, {
      latent: l,
      positive: order.slice(0, count).map(entry),
      negative: order.slice(-count).reverse().map(entry),
    });
  }
  return out;
}
