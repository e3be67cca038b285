/**
 * The runtime's copy of a checkpoint's weights: one fp32 file, written once per checkpoint,
 * that every ONNX graph of the model references as external data. Writing it widens F16/BF16 to
 * fp32 and lays nn.Linear weights out as [in, out], one tensor at a time, so loading never holds
 * more than one tensor in JavaScript. onnxruntime refuses external data outside the directory
 * of the .onnx file (even through a symlink), which is why the weights are not read in place.
 *
 * Location: $INTERP_CACHE_DIR, else $XDG_CACHE_HOME/interp, else ~/.cache/interp; one folder per
 * checkpoint, keyed by the checkpoint hash plus each weight file's size and mtime (so a file
 * rewritten in place is noticed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelFormatError } from '../errors.js';
import type { ModelSource, TensorInfo } from '../model/index.js';
import type { WeightSpec } from './families/types.js';
import type { ExternalTensor } from './onnx/graph.js';
import { writeAll, writeDurably, writeFileAtomic } from '../util/atomic-write.js';

/** Bumped when the cache layout changes, so old caches are not misread. */
const LAYOUT_VERSION = 1;
const WEIGHTS_FILE = 'weights.bin';
const INDEX_FILE = 'index.json';
const ALIGN = 64;

export interface WeightCache {
  /** Folder holding weights.bin; graphs are written here so their external data resolves. */
  readonly dir: string;
  /** Every weight by interp name, as external data relative to `dir`. */
  readonly tensors: ReadonlyMap<string, ExternalTensor>;
}

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.INTERP_CACHE_DIR) return path.resolve(env.INTERP_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(xdg, 'interp');
}

/**
 * Matches every spec to a checkpoint key and checks its shape; fails listing missing keys and
 * keys the family does not use (a sign of a wrong model_type or a partial checkpoint).
 */
export function matchWeights(source: ModelSource, specs: readonly WeightSpec[], ignored: readonly RegExp[]): Map<WeightSpec, TensorInfo> {
  const matched = new Map<WeightSpec, TensorInfo>();
  const missing: string[] = [];
  const used = new Set<string>();
  for (const spec of specs) {
    const key = spec.keys.find((k) => source.weights.tensors.has(k));
    if (key === undefined) {
      missing.push(spec.keys[0]);
      continue;
    }
    const info = source.weights.info(key);
    used.add(key);
    const same = info.shape.length === spec.shape.length && info.shape.every((n, i) => n === spec.shape[i]);
    if (!same) {
      throw new ModelFormatError(
        `${info.file}: tensor "${key}" has shape [${info.shape.join(', ')}] but config.json implies [${spec.shape.join(', ')}]`,
        'the checkpoint and its config.json disagree: use the config.json that came with these weights',
      );
    }
    if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) {
      throw new ModelFormatError(`${info.file}: tensor "${key}" has dtype ${info.dtype}; weights must be F32, F16 or BF16`, 're-save the model in a floating-point dtype');
    }
    matched.set(spec, info);
  }
  const unexpected = [...source.weights.tensors.keys()].filter((k) => !used.has(k) && !ignored.some((re) => re.test(k)));
  if (missing.length > 0 || unexpected.length > 0) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.length} tensor(s): ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`);
    if (unexpected.length) parts.push(`unexpected ${unexpected.length} tensor(s): ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ', …' : ''}`);
    throw new ModelFormatError(
      `${source.dir}: the checkpoint does not match model_type "${source.config.model_type}": ${parts.join('; ')}`,
      'check that config.json belongs to these weights and that every shard is present',
    );
  }
  return matched;
}

function cacheKey(source: ModelSource, specs: readonly WeightSpec[]): string {
  const h = createHash('sha256');
  h.update(`v${LAYOUT_VERSION}\n${source.hash}\n`);
  const files = new Set([...source.weights.tensors.values()].map((t) => t.file));
  for (const file of [...files].sort()) {
    const st = fs.statSync(file);
    h.update(`${file}\n${st.size}\n${st.mtimeMs}\n`);
  }
  for (const s of specs) h.update(`${s.name}:${s.layout}\n`);
  return h.digest('hex').slice(0, 24);
}

/** Returns the cache for this checkpoint, writing it first when absent or stale. */
export function prepareWeightCache(source: ModelSource, specs: readonly WeightSpec[], ignored: readonly RegExp[]): WeightCache {
  const matched = matchWeights(source, specs, ignored);
  const dir = path.join(cacheRoot(), cacheKey(source, specs));
  const indexPath = path.join(dir, INDEX_FILE);
  if (fs.existsSync(indexPath) && fs.existsSync(path.join(dir, WEIGHTS_FILE))) {
    try {
      const index = JSON.parse(fs.readFileSync(indexPath, 'utf8')) as Record<string, ExternalTensor>;
      if (specs.every((s) => index[s.name] !== undefined)) return { dir, tensors: new Map(Object.entries(index)) };
    } catch {
      // A corrupt index is rewritten below.
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  const index: Record<string, ExternalTensor> = {};
  // One tensor at a time, so loading never holds more than one tensor in JavaScript.
  writeDurably(path.join(dir, WEIGHTS_FILE), (fd) => {
    let offset = 0;
    for (const [spec, info] of matched) {
      const data = spec.layout === 'transpose' ? transpose2d(source.weights.readF32(info.name), info.shape[0], info.shape[1]) : source.weights.readF32(info.name);
      offset = Math.ceil(offset / ALIGN) * ALIGN;
      writeAll(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
      const dims = spec.layout === 'transpose' ? [info.shape[1], info.shape[0]] : [...info.shape];
      index[spec.name] = { dims, location: WEIGHTS_FILE, offset, length: data.byteLength };
      offset += data.byteLength;
    }
  });
  writeFileAtomic(indexPath, JSON.stringify(index));
  return { dir, tensors: new Map(Object.entries(index)) };
}

/** [rows, cols] → [cols, rows]. */
function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  const B = 32; // blocked for cache locality on large projection matrices
  for (let i0 = 0; i0 < rows; i0 += B) {
    for (let j0 = 0; j0 < cols; j0 += B) {
      const iEnd = Math.min(i0 + B, rows);
      const jEnd = Math.min(j0 + B, cols);
      for (let i = i0; i < iEnd; i++) for (let j = j0; j < jEnd; j++) out[j * rows + i] = a[i * cols + j];
    }
  }
  return out;
}
