/**
 * The unembedding: logits from the final residual stream. Kept in its own module because how it
 * is computed decides much of a forward's time on large vocabularies.
 * Vocabulary: b = batch, p = positions, d = d_model, V = vocabulary.
 */
import type { ForwardContext } from './forward-context.js';

/**
 * Logits from the final residual: x @ W_Uᵀ, with W_U stored [V, d] (embedding or lm_head).
 * [b, p, d] → [b, p, V].
 *
 * One onnxruntime FusedMatMul (com.microsoft, transB = 1): it reads the [V, d] matrix as stored,
 * so tied embeddings need no transposed second copy, and it writes [b, p, V] directly. The
 * standard-ONNX alternatives each cost a full pass over the logits or a weight copy:
 * Gemm([b·p, d], W, transB) needs a Reshape back to [b, p, V], which onnxruntime runs as a copy
 * into the graph output (15 ms of a 150 ms GPT-2-small 1×128 forward, 25 ms at 8×128; for
 * Gemma-2's 256k vocabulary a second 1 GB buffer at 8×128); MatMul(x, Transpose(W)) has
 * onnxruntime constant-fold a transposed copy of W when each session is created (+1.3 s and
 * 154 MB for GPT-2 small).
 */
export function unembed(ctx: ForwardContext, x: string, weightVd: string, _dModel: number, _vocab: number): string {
  return ctx.g.node('FusedMatMul', [x, ctx.w(weightVd)], { transB: { int: 1 } }, undefined, 'com.microsoft');
}
