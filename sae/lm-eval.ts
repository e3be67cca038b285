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

/**
 * Rows are encoded in multiples of this many. The engine pools freed GPU buffers by exact size
 * (src/engine/tensor.ts), and the dashboard scan encodes the held-out rows of each read batch,
 * a different count almost every time: unpadded, every new count left its own set of buffers in
 * the pool (up to the pool's 1 GiB, host memory on a software GPU), so peak memory grew with the
 * number of held-out rows. Padding to a multiple of 256 leaves a handful of sizes.
 */
const ENCODE_ROW_QUANTUM = 256;

/** Dense f [n, m] on the host from the GPU encoder (also what the dashboard scan encodes with). */
export function gpuEncoder(g: GpuSae): SaeEncoder {
  const { d_in: d, d_sae: m } = g.sae.cfg;
  return async (x, n) => {
    const rows = Math.ceil(n / ENCODE_ROW_QUANTUM) * ENCODE_ROW_QUANTUM;
    let input = x.subarray(0, n * d);
    if (rows !== n) {
      input = new Float32Array(rows * d);
      input.set(x.subarray(0, n * d));
    }
    const f = scope(() => encode(g, upload(g.W_enc.gpu, input, [rows, d])));
    if (f.kind === 'dense') {
      const out = (await f.f.download()) as Float32Array;
      f.f.dispose();
      return rows === n ? out : out.subarray(0, n * m);
    }
    const values = (await f.values.download()) as Float32Array;
    const indices = (await f.indices.download()) as Uint32Array;
    f.values.dispose();
    f.indices.dispose();
    const k = values.length / rows;
    const dense = new Float32Array(n * m);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) dense[r * m + indices[r * k + j]] = values[r * k + j];
    return dense;
  };
}

export async function lmMetricsOnHeldOut(modelDir: string, sae: Sae, capture: Capture, heldOut: (seq: number) => boolean, maxSequences: number, options: { device?: string } = {}): Promise<LmMetrics> {
  const sequences = heldOutTokenSequences(capture, heldOut, maxSequences);
  const model = await HookedTransformer.load(modelDir, options.device !== undefined ? { device: options.device } : {});
  const g = uploadSae(await getGpu(), sae);
  try {
    return await computeLmMetrics(model, sae, sequences, { encode: gpuEncoder(g) });
  } finally {
    disposeGpuSae(g);
    await model.dispose();
  }
}
