/**
 * The steering-vector file: a folder with
 *
 *   vector.safetensors   tensor `vector` [d] (float32), metadata {format, hook, method}
 *   vector.json          how it was made: hook, method, positions, pooling, norm, the model and
 *                        dataset it came from, the units a coefficient is given in, the command
 *
 * both written atomically (vector.safetensors first, so a folder with a vector.json always has
 * its tensor). A plain safetensors file holding one tensor named `vector` of shape [d] also loads,
 * with the hook given by the caller (`--hook`): vectors made in Python (steering-vectors,
 * repeng's exports) need no conversion.
 *
 * Vocabulary: d = d_model (the width of the hook the vector is added at).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, ShapeMismatchError, UsageError, describeValue } from '../src/errors.js';
import { openSafetensors, writeSafetensors } from '../src/model/index.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { versions } from '../src/versions.js';

export const VECTOR_FORMAT = 'interp.steering-vector';
export const VECTOR_FORMAT_VERSION = 1;
export const VECTOR_JSON = 'vector.json';
export const VECTOR_WEIGHTS = 'vector.safetensors';

/** How a vector was obtained. */
export type VectorMethod =
  /** Mean of (positive − negative) activations over contrastive pairs (ActAdd, Turner et al. 2023; CAA, Rimsky et al. 2024). */
  | 'mean-diff'
  /** First principal component of the pair differences, uncentred, sign set by the mean projection (RepE, Zou et al. 2023; see pca.ts). */
  | 'pca'
  /** A trained probe's direction in raw activation space. */
  | 'probe'
  /** One row of an SAE decoder W_dec [d_sae, d_in]. */
  | 'sae-decoder'
  /** A random direction (a control), scaled to a given norm. */
  | 'random'
  /** Loaded from a plain safetensors file made elsewhere. */
  | 'file';

/** Which token positions of each text the activations were read at (see sources.ts). */
export type ReadPosition =
  /** The last real token. */
  | { readonly kind: 'last' }
  /** Every real token except BOS. */
  | { readonly kind: 'mean' }
  /** The positions where the two texts of a token-aligned pair differ. */
  | { readonly kind: 'differing' }
  /** From the first position where the pair differs to the end. */
  | { readonly kind: 'from-first-difference' }
  /** One absolute token index (0 = BOS when prepended). */
  | { readonly kind: 'index'; readonly index: number };

/** vector.json. */
export interface VectorJson {
  format: typeof VECTOR_FORMAT;
  format_version: number;
  hook: string;
  d: number;
  method: VectorMethod;
  /** Read positions in the `--position` syntax (`last`, `mean`, `differing`, `from-first-difference`, an integer), or null when no activations were read. */
  positions: string | null;
  /** How activations at several positions became one vector per text. */
  pooling: 'mean' | 'none';
  /** ‖vector‖₂. */
  norm: number;
  /** Mean ‖h‖ at the hook over the texts the vector was read from (BOS excluded), or null. */
  hook_mean_norm: number | null;
  /** A raw coefficient c adds c·vector; `Nx-norm` adds N·hook_mean_norm·vector/‖vector‖. */
  coefficient_units: string;
  model: { id: string; hash: string } | null;
  dataset: { path: string; sha256: string; pairs: number } | null;
  /** Extra facts of the source (probe folder, SAE folder and latent, seed of a random vector, ...). */
  source: Record<string, string | number | boolean | null>;
  /** Raw weights as on disk: no fold_ln, no centring (DESIGN "Runtime"). */
  weights: 'raw';
  created: string;
  versions: Record<string, string>;
  command: string[];
}

/** A steering vector in memory. */
export interface SteeringVector {
  /** Hook it is read at and added at by default (full TransformerLens name). */
  readonly hook: string;
  /** [d] */
  readonly vector: Float32Array;
  /** The folder or file it was loaded from, or null when made in memory. */
  readonly location: string | null;
  /** vector.json, or null for a plain safetensors file. */
  readonly json: VectorJson | null;
}

/** ‖v‖₂ in float64. */
export function vectorNorm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** The fields of vector.json a maker supplies; format, norm, d, dates and versions are filled in. */
export type VectorProvenance = Omit<VectorJson, 'format' | 'format_version' | 'd' | 'norm' | 'created' | 'versions' | 'weights' | 'coefficient_units' | 'hook'>;

/** Writes vector.safetensors then vector.json into `dir` (each atomically) and returns the JSON written. */
export function saveVector(dir: string, hook: string, vector: Float32Array, provenance: VectorProvenance): VectorJson {
  if (!vector.every(Number.isFinite)) throw new UsageError(`the ${provenance.method} vector for ${hook} has NaN or infinite entries`, 'check the activations it was read from (interp capture reports NaN activations)');
  mkdirSync(dir, { recursive: true });
  const json: VectorJson = {
    format: VECTOR_FORMAT,
    format_version: VECTOR_FORMAT_VERSION,
    hook,
    d: vector.length,
    ...provenance,
    norm: vectorNorm(vector),
    coefficient_units: 'raw c adds c·vector; "Nx-norm" adds N·(mean residual norm at the hook)·vector/‖vector‖',
    weights: 'raw',
    created: new Date().toISOString(),
    versions: versions(),
  };
  writeSafetensors(path.join(dir, VECTOR_WEIGHTS), { vector: { dtype: 'F32', shape: [vector.length], data: vector } }, { format: VECTOR_FORMAT, hook, method: provenance.method });
  writeFileAtomic(path.join(dir, VECTOR_JSON), [Buffer.from(`${JSON.stringify(json, null, 2)}\n`)]);
  return json;
}

function readVectorJson(file: string): VectorJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new FileFormatError(`${file}: not valid JSON (${(error as Error).message})`, 'the file is damaged: make the vector again with `interp vector`');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FileFormatError(`${file}: expected a JSON object, got ${describeValue(parsed)}`, 'pass a folder written by `interp vector`, or a plain safetensors file with --hook');
  }
  const j = parsed as Partial<VectorJson>;
  if (j.format !== VECTOR_FORMAT) throw new FileFormatError(`${file}: "format" is ${describeValue(j.format)}, expected "${VECTOR_FORMAT}"`, 'pass a folder written by `interp vector`, or a plain safetensors file with --hook');
  if (j.format_version !== VECTOR_FORMAT_VERSION) throw new FileFormatError(`${file}: format_version ${describeValue(j.format_version)} is not supported (this interp reads ${VECTOR_FORMAT_VERSION})`, 'make the vector again with this version of interp');
  if (typeof j.hook !== 'string' || typeof j.d !== 'number') throw new FileFormatError(`${file}: missing "hook" or "d"`, 'the file is damaged: make the vector again with `interp vector`');
  return j as VectorJson;
}

/** Reads the one [d] tensor named `vector` of a safetensors file, refusing anything else. */
function readVectorTensor(file: string): Float32Array {
  const weights = openSafetensors(file);
  const names = [...weights.tensors.keys()];
  if (!names.includes('vector')) throw new FileFormatError(`${file}: no tensor named "vector" (found: ${names.join(', ') || 'none'})`, 'save the steering vector as a tensor named "vector" of shape [d_model]');
  const shape = weights.info('vector').shape;
  if (shape.length !== 1) throw new ShapeMismatchError(`${file}: tensor "vector" has shape [${shape.join(', ')}], expected [d_model]`, 'save one vector of shape [d_model] (squeeze batch dimensions)');
  const v = weights.readF32('vector');
  if (!v.every(Number.isFinite)) throw new FileFormatError(`${file}: tensor "vector" has NaN or infinite entries`, 'make the vector again');
  return v;
}

/**
 * Loads a vector: a folder written by `interp vector` (or its vector.json / vector.safetensors),
 * or a plain safetensors file with a tensor `vector` [d], in which case `hook` is required.
 * `hook`, when given for an interp folder, overrides where it is applied (not what it records).
 */
export function loadVector(location: string, hook?: string): SteeringVector {
  if (!existsSync(location)) throw new UsageError(`steering vector ${location} does not exist`, 'pass a folder written by `interp vector`, or a safetensors file with one tensor "vector" and --hook');
  const isDir = statSync(location).isDirectory();
  const dir = isDir ? location : path.dirname(location);
  const jsonFile = path.join(dir, VECTOR_JSON);
  const interpFolder = isDir || path.basename(location) === VECTOR_JSON || (path.basename(location) === VECTOR_WEIGHTS && existsSync(jsonFile));
  if (interpFolder) {
    if (!existsSync(jsonFile)) throw new FileFormatError(`${dir}: no ${VECTOR_JSON}`, 'pass a folder written by `interp vector`, or the safetensors file itself with --hook');
    const json = readVectorJson(jsonFile);
    const vector = readVectorTensor(path.join(dir, VECTOR_WEIGHTS));
    if (vector.length !== json.d) throw new ShapeMismatchError(`${dir}: vector has ${vector.length} entries, ${VECTOR_JSON} says d = ${json.d}`, 'the folder mixes files of two vectors: make it again');
    return { hook: hook ?? json.hook, vector, location: dir, json };
  }
  if (hook === undefined) throw new UsageError(`${location} is a plain safetensors file: it does not say which hook the vector belongs to`, 'pass --hook NAME (e.g. --hook blocks.2.hook_resid_pre)');
  return { hook, vector: readVectorTensor(location), location, json: null };
}

/**
 * Loads every vector a location names: a vector folder or file (one vector), or a folder whose
 * sub-folders are vector folders (`interp vector` with several hooks), in sub-folder name order.
 */
export function loadVectors(location: string, hook?: string): SteeringVector[] {
  if (existsSync(location) && statSync(location).isDirectory() && !existsSync(path.join(location, VECTOR_JSON))) {
    const subs = readdirSync(location).filter((n) => existsSync(path.join(location, n, VECTOR_JSON))).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (subs.length === 0) throw new FileFormatError(`${location}: neither a vector folder (no ${VECTOR_JSON}) nor a folder of vector folders`, 'pass a folder written by `interp vector`');
    return subs.map((n) => loadVector(path.join(location, n), hook));
  }
  return [loadVector(location, hook)];
}
