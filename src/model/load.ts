/**
 * openModel: a local Hugging Face model directory or a hub id → ModelSource.
 *
 * Opening reads config.json, generation_config.json, the tokenizer files and the safetensors
 * headers only; tensors are read one at a time when the runtime asks (WeightIndex).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { readGenerationDefaults, readModelConfig } from './config.js';
import { looksLikeHubId, resolveHubModel, type ResolveOptions } from './hub.js';
import { loadTokenizer } from './tokenizer.js';
import { openModelWeights } from './weights.js';
import type { ModelSource } from './types.js';

/** Options of openModel. */
export interface OpenModelOptions {
  /** For hub ids not in the cache: download them (the CLI's --download). No network otherwise. */
  readonly download?: boolean;
  /** Hub cache directory; by default from HF_HUB_CACHE / HF_HOME as huggingface_hub does. */
  readonly cacheDir?: string;
  /** Replaces global fetch for downloads (tests, proxies). */
  readonly fetch?: typeof fetch;
}

/** Where a model directory came from, when it is a hub cache snapshot. */
export interface HubOrigin {
  readonly hubId: string;
  readonly revision: string;
}

/**
 * Opens a model from `spec`: an existing directory (tried first), else a hub id such as `gpt2`,
 * `EleutherAI/pythia-70m` or `org/name@revision`, resolved through the Hugging Face cache and
 * downloaded only when `options.download` is true.
 */
export async function openModel(spec: string, options: OpenModelOptions = {}): Promise<ModelSource> {
  const local = path.resolve(spec);
  if (fs.existsSync(local)) {
    if (!fs.statSync(local).isDirectory()) {
      throw new UsageError(
        `${local} is a file; expected a model directory (config.json, model.safetensors, tokenizer.json)`,
        `give its folder: ${path.dirname(local)}`,
      );
    }
    return openModelDir(local);
  }
  const explicitPath = path.isAbsolute(spec) || /^\.{1,2}([\\/]|$)|^~/.test(spec);
  if (explicitPath || !looksLikeHubId(spec)) {
    throw new UsageError(
      `model directory ${local} does not exist` + (explicitPath ? '' : ` and "${spec}" is not a hub id (ORG/NAME[@REVISION])`),
      'check the path, or give a hub id such as gpt2 or EleutherAI/pythia-70m',
    );
  }
  const resolveOptions: ResolveOptions = { download: options.download, cacheDir: options.cacheDir, fetch: options.fetch };
  const snapshot = await resolveHubModel(spec, resolveOptions);
  return openModelDir(snapshot.dir, { hubId: snapshot.repoId, revision: snapshot.commit });
}

/** Opens a local model directory (synchronous; reads headers only). */
export function openModelDir(dir: string, origin: HubOrigin | null = null): ModelSource {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new UsageError(`model directory ${abs} does not exist`, 'check the path');
  }
  const { config, bytes } = readModelConfig(abs);
  const weights = openModelWeights(abs);
  const tokenizer = loadTokenizer(abs);
  const generation = readGenerationDefaults(abs, config);

  // Identity of the checkpoint without hashing gigabytes: config bytes plus every safetensors
  // header (names, dtypes, shapes, offsets), each prefixed by its length.
  const hash = createHash('sha256');
  hash.update(bytes);
  for (const header of weights.headers) hash.update(header.headerBytes);

  return {
    dir: abs,
    hubId: origin?.hubId ?? null,
    revision: origin?.revision ?? null,
    config,
    weights,
    tokenizer,
    generation,
    hash: hash.digest('hex'),
  };
}
