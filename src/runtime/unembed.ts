/**
 * The unembedding: logits from the final residual stream. Kept in its own module because how it
 * is computed decides much of a forward's time on large vocabularies.
 * Vocabulary: b = batch, p = positions, d = d_model, V = vocabulary.
 */
import type { ForwardContext } from './forward-context.js';

/** Logits from the final residual: x @ W_U, with W_U stored [V, d] (embedding or lm_head). [b, p, d] → [b, p, V]. */
export function unembed(ctx: ForwardContext, x: string, weightVd: string, dModel: number, vocab: number): string {
  const { g } = ctx;
  // Gemm with transB reads the [V, d] matrix as stored, so tied embeddings need no second copy.
  const flat = g.node('Reshape', [x, g.constI64([-1, dModel])]); // [b·p, d]
  const logits2d = g.node('Gemm', [flat, ctx.w(weightVd)], { transB: { int: 1 } });
  const batchPos = g.node('Shape', [ctx.inputs.ids]);
  return g.node('Reshape', [logits2d, g.node('Concat', [batchPos, g.constI64([vocab])], { axis: { int: 0 } })]);
}
