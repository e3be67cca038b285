/**
 * WeightIndex over a checkpoint's safetensors: one `model.safetensors`, or a sharded set named by
 * `model.safetensors.index.json` (`weight_map`: tensor name → shard file name).
 *
 * Opening reads only headers. Each readF32 / readInts call reads one tensor from disk; the runtime
 * may also use TensorInfo's file, offset and byteLength to reference fp32 data directly.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, describeValue } from '../errors.js';
import { readSafetensorsHeader, readTensorF32, readTensorInts, type SafetensorsHeader } from './safetensors.js';
import type { TensorInfo, WeightIndex } from './types.js';

export const SINGLE_FILE = 'model.safetensors';
export const SHARD_INDEX = 'model.safetensors.index.json';

/** A WeightIndex plus the parsed headers it was built from (in file order), for hashing. */
export interface OpenedWeights extends WeightIndex {
  /** What the index was opened from: a .safetensors file or a model.safetensors.index.json. */
  readonly source: string;
  /** Parsed header of every file, single file or shards in order of first use in weight_map. */
  readonly headers: readonly SafetensorsHeader[];
}

class SafetensorsWeights implements OpenedWeights {
  constructor(
    readonly source: string,
    readonly headers: readonly SafetensorsHeader[],
    readonly tensors: ReadonlyMap<string, TensorInfo>,
  ) {}

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) {
      const near = [...this.tensors.keys()].filter((k) => k.endsWith(name) || name.endsWith(k)).slice(0, 3);
      throw new ModelFormatError(
        `${this.source}: no tensor named "${name}" (the checkpoint has ${this.tensors.size} tensors` +
          `${near.length ? `; similar: ${near.map((k) => `"${k}"`).join(', ')}` : ''})`,
        'check that the directory holds the model family you meant and that the checkpoint is complete',
      );
    }
    return info;
  }

  readF32(name: string): Float32Array {
    return readTensorF32(this.info(name));
  }

  readInts(name: string): { data: number[]; shape: readonly number[] } {
    return readTensorInts(this.info(name));
  }
}

/** Opens one safetensors file as a WeightIndex (reads its header only). */
export function openSafetensors(file: string): OpenedWeights {
  const header = readSafetensorsHeader(file);
  return new SafetensorsWeights(header.file, [header], new Map(header.tensors.map((t) => [t.name, t])));
}

/**
 * Resolves a shard name from weight_map inside `dir`, refusing absolute paths and `..` segments.
 * The check is lexical on purpose: in the Hugging Face cache, snapshot files are symlinks into
 * ../../blobs, and following them must stay allowed.
 */
function shardPath(indexFile: string, dir: string, shard: string): string {
  const segments = shard.split(/[\\/]/);
  if (shard === '' || path.isAbsolute(shard) || path.win32.isAbsolute(shard) || segments.includes('..')) {
    throw new ModelFormatError(
      `${indexFile}: weight_map names shard "${shard}", which is outside the model directory (expected a file name such as model-00001-of-00002.safetensors)`,
      'the index is damaged or hostile: download the model again, and do not use an index from an untrusted source',
    );
  }
  return path.join(dir, ...segments);
}

/**
 * Opens a sharded checkpoint from its model.safetensors.index.json. Refuses shard paths that leave
 * the directory, missing shards, and names that weight_map assigns to a shard lacking them. The
 * index's weight_map is authoritative: tensors present in a shard but not listed are ignored.
 */
export function openShardedSafetensors(indexFile: string): OpenedWeights {
  const abs = path.resolve(indexFile);
  const dir = path.dirname(abs);
  const fix = 'download the model again (all shards and the index come from the same revision)';
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(abs, 'utf8'));
  } catch (err) {
    throw new ModelFormatError(`${abs}: cannot read the shard index (${(err as Error).message})`, fix);
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new ModelFormatError(`${abs}: expected an object with "weight_map" (tensor name → shard file), got ${describeValue(json)}`, fix);
  }

  // Shards in order of first appearance, each parsed once.
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') {
      throw new ModelFormatError(`${abs}: weight_map["${name}"] must be a file name, got ${describeValue(shard)}`, fix);
    }
    const file = shardPath(abs, dir, shard);
    if (!byShard.has(file)) byShard.set(file, []);
    byShard.get(file)!.push(name);
  }
  const missing = [...byShard.keys()].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    throw new ModelFormatError(
      `${abs}: ${missing.length} of ${byShard.size} shards are missing: ${missing.map((f) => path.basename(f)).join(', ')}`,
      fix,
    );
  }

  const headers: SafetensorsHeader[] = [];
  const found = new Map<string, TensorInfo>();
  for (const [file, names] of byShard) {
    const header = readSafetensorsHeader(file);
    headers.push(header);
    const inShard = new Map(header.tensors.map((t) => [t.name, t]));
    const absent = names.filter((n) => !inShard.has(n));
    if (absent.length > 0) {
      throw new ModelFormatError(
        `${abs}: weight_map assigns ${absent.length} tensors to ${path.basename(file)}, which does not contain them: ` +
          `${absent.slice(0, 5).map((n) => `"${n}"`).join(', ')}${absent.length > 5 ? ', ...' : ''}`,
        fix,
      );
    }
    // File order within each shard.
    const wanted = new Set(names);
    for (const t of header.tensors) if (wanted.has(t.name)) found.set(t.name, t);
  }
  return new SafetensorsWeights(abs, headers, found);
}

/** How to turn pickled weights into safetensors, quoted by every refusal. */
export const CONVERT_HINT =
  '`from transformers import AutoModelForCausalLM; ' +
  'AutoModelForCausalLM.from_pretrained(src_dir).save_pretrained(out_dir, safe_serialization=True)`, then give out_dir';

/** Pickled checkpoint files (PyTorch's torch.save format), which interp never opens. */
const PICKLED = /(^pytorch_model.*\.bin$|\.pt$|\.pth$|\.ckpt$|^pytorch_model\.bin\.index\.json$)/;

/**
 * Opens the weights of a model directory: model.safetensors if present, else the sharded index.
 * When neither exists, throws ModelFormatError saying what the directory holds instead; pickled
 * weights (pytorch_model.bin, *.pt, *.pth) are refused with the conversion recipe, never unpickled.
 */
export function openModelWeights(dir: string): OpenedWeights {
  const abs = path.resolve(dir);
  const single = path.join(abs, SINGLE_FILE);
  if (fs.existsSync(single)) return openSafetensors(single);
  const index = path.join(abs, SHARD_INDEX);
  if (fs.existsSync(index)) return openShardedSafetensors(index);

  const entries = fs.readdirSync(abs);
  const pickled = entries.filter((f) => PICKLED.test(f));
  if (pickled.length > 0) {
    throw new ModelFormatError(
      `${abs}: has only pickled PyTorch weights (${pickled.slice(0, 3).join(', ')}), which interp never loads ` +
        `(unpickling can run arbitrary code); expected ${SINGLE_FILE} or ${SHARD_INDEX}`,
      `convert it to safetensors once in Python: ${CONVERT_HINT}`,
    );
  }
  const other = entries.filter((f) => f.endsWith('.safetensors'));
  throw new ModelFormatError(
    `${abs}: no ${SINGLE_FILE} or ${SHARD_INDEX}` +
      (other.length ? ` (found ${other.slice(0, 3).join(', ')}, which are not the model's weights by name)` : '') +
      (entries.length ? '' : ' (the directory is empty)'),
    other.length
      ? 'rename the weights file to model.safetensors if it holds the whole model, or re-save with `save_pretrained`'
      : 'download the model again (with --download for a hub id), or re-save it with `save_pretrained`',
  );
}
