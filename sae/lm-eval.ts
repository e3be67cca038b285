/**
 * The model-dependent metrics of a freshly trained SAE (CE-loss score, KL score, delta LM loss)
 * on held-out sequences of its capture: computeLmMetrics (metrics-lm.ts) with a GPU encoder.
 */
import { getGpu, scope, upload } from '../src/engine/index.js';
import { HookedTransformer } from '../src/runtime/model.js';
import type { Capture } from '../src/store/index.js';
import { UsageError } from '../src/errors.js';
import { disposeGpuSae, encode, uploadSae, type GpuSae } from './gpu-sae.js';
import { computeLmMetrics, type LmMetrics, type SaeEncoder } from './metrics-lm.js';
import type { Sae } from './sae.js';

/** Token ids of up to `max` held-out sequences (BOS included, as captured). */
export function heldOutTokenSequences(capture: Capture, heldOut: (seq: number) => boolean, max: number): number[][] {
  if (capture.manifest.positions !== 'all') throw new UsageError(`${capture.dir}: captured with --positions ${capture.manifest.positions}, so whole sequences cannot be rebuilt for CE / KL`, 'drop --model, or train on a capture made with --positions all');
  const out: number[][] = [];
  let current = -1;
  for (const b of capture.batches({ hooks: [], batchRows: 1 << 14, columns: [] })) {
    for (let i = 0; i < b.rows; i++) {
      if (!heldOut(b.seq[i])) continue;
      if (b.seq[i] !== current) {
        if (out.length >= max) return out;
        current = b.seq[i];
        out.push([]);
      }
      out[out.length - 1].push(b.tokenId[i]);
    }
  }
  return out;
}

/** Dense f [n, m] on the host from the GPU encoder (also what the dashboard scan encodes with). */
export function gpuEncoder(g: GpuSae): SaeEncoder {
  const { d_in: d, d_sae: m } = g.sae.cfg;
  return async (x, n) => {
    const f = scope(() => encode(g, upload(g.W_enc.gpu, x, [n, d])));
    if (f.kind === 'dense') {
      const out = (await f.f.download()) as Float32Array;
      f.f.dispose();
      return out;
    }
    const values = (await f.values.download()) as Float32Array;
    const indices = (await f.indices.download()) as Uint32Array;
    f.values.dispose();
    f.indices.dispose();
    const k = values.length / n;
    const dense = new Float32Array(n * m);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) dense[r * m + indices[r * k + j]] = values[r * k + j];
    return dense;
  };
}

export async function lmMetricsOnHeldOut(modelDir: string, sae: Sae, capture: Capture, heldOut: (seq: number) => boolean, maxSequences: number): Promise<LmMetrics> {
  const sequences = heldOutTokenSequences(capture, heldOut, maxSequences);
  const model = await HookedTransformer.load(modelDir);
  const g = uploadSae(await getGpu(), sae);
  try {
    return await computeLmMetrics(model, sae, sequences, { encode: gpuEncoder(g) });
  } finally {
    disposeGpuSae(g);
    await model.dispose();
  }
}
