/**
 * config.json and generation defaults of a Hugging Face model directory.
 *
 * Only `model_type` is checked here; family-specific fields (n_layer, rope_theta, ...) are read
 * and validated by the runtime's family files.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, describeValue } from '../errors.js';
import type { GenerationDefaults, ModelSource } from './types.js';

export const CONFIG_FILE = 'config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';

/** The raw parsed config plus the exact bytes it was parsed from (hashed into ModelSource.hash). */
export interface ModelConfigFile {
  readonly file: string;
  readonly config: ModelSource['config'];
  readonly bytes: Uint8Array;
}

/** Reads a JSON object from `file`, or throws ModelFormatError naming it. */
function readJsonObject(file: string, fix: string): { json: Record<string, unknown>; bytes: Uint8Array } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new ModelFormatError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`, fix);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ModelFormatError(`${file}: not valid JSON (${(err as Error).message})`, fix);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError(`${file}: expected a JSON object, got ${describeValue(json, 60)}`, fix);
  }
  return { json: json as Record<string, unknown>, bytes };
}

/** Reads `dir/config.json`; it must be a JSON object with a string `model_type`. */
export function readModelConfig(dir: string): ModelConfigFile {
  const file = path.join(path.resolve(dir), CONFIG_FILE);
  if (!fs.existsSync(file)) {
    throw new ModelFormatError(
      `${path.resolve(dir)}: no config.json (expected a Hugging Face model folder: config.json, model.safetensors, tokenizer.json)`,
      'give the folder that `save_pretrained` wrote, or a hub id such as `gpt2` (with --download if not cached)',
    );
  }
  const fix = 'download the model again, or re-save it with `save_pretrained`';
  const { json, bytes } = readJsonObject(file, fix);
  if (typeof json.model_type !== 'string' || json.model_type === '') {
    throw new ModelFormatError(
      `${file}: expected a string "model_type" (e.g. "gpt2", "llama"), got ${json.model_type === undefined ? 'none' : describeValue(json.model_type)}`,
      'add the model_type of the architecture, or re-save the config with a recent transformers',
    );
  }
  return { file, config: json as ModelSource['config'], bytes };
}

function tokenId(file: string, key: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
  throw new ModelFormatError(`${file}: "${key}" must be a non-negative integer token id, got ${describeValue(value)}`, 'fix or remove the field');
}

/**
 * Generation defaults: each of bos_token_id, eos_token_id (a number or a list) and pad_token_id
 * comes from generation_config.json when that file sets it, else from config.json.
 */
export function readGenerationDefaults(dir: string, config: Readonly<Record<string, unknown>>): GenerationDefaults {
  const configFile = path.join(path.resolve(dir), CONFIG_FILE);
  const genFile = path.join(path.resolve(dir), GENERATION_CONFIG_FILE);
  const gen = fs.existsSync(genFile)
    ? readJsonObject(genFile, 'download the model again, or delete generation_config.json to use config.json').json
    : {};
  const pick = (key: string): { file: string; value: unknown } =>
    gen[key] !== undefined && gen[key] !== null ? { file: genFile, value: gen[key] } : { file: configFile, value: config[key] };

  const bos = pick('bos_token_id');
  const eos = pick('eos_token_id');
  const pad = pick('pad_token_id');
  const eosList = Array.isArray(eos.value) ? eos.value : [eos.value];
  const eosTokenIds = eosList.map((v) => tokenId(eos.file, 'eos_token_id', v)).filter((v): v is number => v !== null);
  return {
    bosTokenId: tokenId(bos.file, 'bos_token_id', bos.value),
    eosTokenIds: [...new Set(eosTokenIds)],
    padTokenId: tokenId(pad.file, 'pad_token_id', pad.value),
  };
}
