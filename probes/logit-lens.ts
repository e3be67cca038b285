/**
 * The logit lens of a probe direction: which tokens the direction promotes and suppresses when
 * read through the unembedding W_U [V, d] (nostalgebraist 2020, "interpreting GPT: the logit
 * lens"). The direction is taken in raw activation space (probeDirection folds mean and scale)
 * and multiplied by W_U directly, skipping the final norm: a direction has no norm statistics, so
 * this shows which way it points in token space, not calibrated logits.
 */
import { existsSync } from 'node:fs';
import { getGpu, upload } from '../src/engine/index.js';
import { openModelDir } from '../src/model/index.js';
import type { CaptureManifest } from '../src/store/index.js';
import { probeDirection, type Probe } from './artifact.js';
import { scoreOnGpu } from './linear.js';

/** Names of the unembedding, tied embedding first only when no lm_head exists (per family checkpoint keys). */
const UNEMBED_KEYS = ['lm_head.weight', 'embed_out.weight', 'model.embed_tokens.weight', 'transformer.wte.weight', 'wte.weight', 'gpt_neox.embed_in.weight'];

/** Top tokens of one direction. */
export interface LensRow {
  /** Class the direction belongs to (the positive class for a binary probe). */
  readonly label: string;
  readonly top: readonly { token: string; logit: number }[];
  readonly bottom: readonly { token: string; logit: number }[];
}

/** The lens, or why it was skipped. */
export type LogitLens = { readonly ok: true; readonly rows: readonly LensRow[]; readonly source: string } | { readonly ok: false; readonly note: string };

/** Reads W_U from the model the capture was made from and ranks tokens by W_U·w for each probe direction. */
export async function logitLens(probe: Probe, model: CaptureManifest['model'], count = 10): Promise<LogitLens> {
  if (!model.dir || !existsSync(model.dir)) return { ok: false, note: `the model directory ${model.dir || '(none recorded)'} is not available, so the unembedding cannot be read` };
  const source = openModelDir(model.dir);
  if (source.hash !== model.hash) return { ok: false, note: `the model at ${model.dir} has changed since the capture (hash ${source.hash.slice(0, 12)}… vs ${model.hash.slice(0, 12)}…)` };
  const key = UNEMBED_KEYS.find((k) => source.weights.tensors.has(k));
  if (!key) return { ok: false, note: `no unembedding tensor (${UNEMBED_KEYS.join(', ')}) in ${model.dir}` };
  const shape = source.weights.info(key).shape;
  if (shape.length !== 2 || shape[1] !== probe.d) return { ok: false, note: `${key} is [${shape.join(', ')}], not [V, ${probe.d}]: the probe's hook is not in the residual stream's basis` };
  const vocab = shape[0];
  const direction = probeDirection(probe);
  const gpu = await getGpu();
  const wU = upload(gpu, source.weights.readF32(key), [vocab, probe.d]);
  let logits: Float32Array;
  try {
    logits = await scoreOnGpu(gpu, wU, { weight: direction.weight, bias: new Float32Array(probe.k), k: probe.k, d: probe.d });
  } finally {
    wU.dispose();
  }
  const classes = probe.json.label.classes;
  const rows = Array.from({ length: probe.k }, (_, c): LensRow => {
    const order = Array.from({ length: vocab }, (_, v) => v).sort((a, b) => logits[b * probe.k + c] - logits[a * probe.k + c]);
    const entry = (v: number) => ({ token: source.tokenizer?.tokenDisplay(v) ?? `#${v}`, logit: logits[v * probe.k + c] });
    return { label: String(probe.k === 1 ? classes[1] : classes[c]), top: order.slice(0, count).map(entry), bottom: order.slice(-count).reverse().map(entry) };
  });
  return { ok: true, rows, source: `${key} [${vocab}, ${probe.d}] of ${model.dir}` };
}
