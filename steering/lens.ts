/**
 * Facts about a steering vector for its report card: the logit lens of its direction and its
 * cosine similarity to other directions (other layers' vectors, a probe, SAE decoder rows).
 *
 * Logit lens without knowing the family's weight names: the runtime replaces the last block's
 * resid_post with √d·v̂ at a single position and reads the logits, so the model's own final norm
 * (RMSNorm or LayerNorm, with its weight) and unembedding are applied; the logits of a zero
 * residual are subtracted, which removes the final norm's bias (GPT-2) and leaves W_U·norm(v̂).
 * Vocabulary: d = d_model, V = vocabulary.
 */
import { hookName } from '../src/hooks.js';
import type { HookedTransformer } from '../src/runtime/model.js';
import { vectorNorm } from './vector.js';

export interface LensToken {
  readonly id: number;
  readonly token: string;
  readonly logit: number;
}

export interface LogitLens {
  readonly top: readonly LensToken[];
  readonly bottom: readonly LensToken[];
}

/** Top and bottom `k` tokens of the direction's direct logit effect. */
export async function logitLens(model: HookedTransformer, vector: Float32Array, k = 10): Promise<LogitLens> {
  const d = model.config.dModel;
  const hook = hookName('blocks.{L}.hook_resid_post', model.config.nLayers - 1);
  const norm = vectorNorm(vector) || 1;
  const scaled = Float32Array.from(vector, (x) => (x / norm) * Math.sqrt(d));
  const ids = [model.source.generation.bosTokenId ?? 0];
  const run = async (value: Float32Array) => (await model.run([ids], { interventions: [{ kind: 'replace', hook, value }] })).logits?.data as Float32Array;
  const withV = await run(scaled);
  const zero = await run(new Float32Array(d));
  const effect = Float32Array.from(withV, (x, i) => x - zero[i]);
  const order = Array.from(effect.keys()).sort((a, b) => effect[b] - effect[a]);
  const token = (id: number): LensToken => ({ id, token: model.source.tokenizer?.tokenDisplay(id) ?? String(id), logit: effect[id] });
  return { top: order.slice(0, k).map(token), bottom: order.slice(-k).reverse().map(token) };
}

/** cos(a, b), 0 when either is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  const n = vectorNorm(a) * vectorNorm(b);
  return n > 0 ? dot / n : 0;
}

/** The `k` rows of W_dec [m, d] most aligned with v (by |cos|), with their cosines. */
export function nearestRows(v: Float32Array, rows: Float32Array, m: number, k = 5): { index: number; cosine: number }[] {
  const d = v.length;
  const cos = Array.from({ length: m }, (_, i) => ({ index: i, cosine: cosine(v, rows.subarray(i * d, (i + 1) * d)) }));
  return cos.sort((a, b) => Math.abs(b.cosine) - Math.abs(a.cosine)).slice(0, k);
}
