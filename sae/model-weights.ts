/**
 * A model's checkpoint read for its weights only (no runtime graph, no weight cache): what the SAE
 * code needs of a model outside a forward pass — the unembedding for logit effects, a block's
 * norm weights to fold into a transcoder. Weights are named as interp names them (the family's
 * weight specs) and read through whichever checkpoint key holds them.
 */
import * as path from 'node:path';
import { openModel, type ModelSource } from '../src/model/index.js';
import { openFamily, type BoundFamily } from '../src/runtime/families/index.js';

/** A checkpoint and its family (a HookedTransformer has both). */
export interface WeightsSource {
  readonly source: ModelSource;
  readonly family: BoundFamily;
}

/** Opens a model directory or hub id for its weights only. */
export async function openWeightsSource(spec: string): Promise<WeightsSource> {
  const source = await openModel(spec);
  return { source, family: openFamily(source.config, path.join(source.dir, 'config.json')) };
}

/** One of the family's weights by interp name, or null when the checkpoint lacks it. */
export function readWeight(model: WeightsSource, name: string): Float32Array | null {
  const available = new Set(model.source.weights.tensors.keys());
  const spec = model.family.weightSpecs(available).find((s) => s.name === name);
  const key = spec?.keys.find((k) => available.has(k));
  return key === undefined ? null : model.source.weights.readF32(key);
}
