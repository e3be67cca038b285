/**
 * The probe artifact: one folder per hook with probe.safetensors and probe.json.
 *
 * probe.safetensors (float32):
 *   weight  [d] for a binary probe, [K, d] for one-vs-rest (one row per class, in `classes` order)
 *   bias    [1] or [K]
 *   mean    [d]  present when the probe was trained on centred or standardised inputs
 *   scale   [d]  present when standardised
 * The probe scores raw activations x as  z = weight · u + bias  with  u = x, x − mean, or
 * (x − mean) / scale  (probe.json "input" says which). mean and scale are applied on load, not
 * folded into the weight, so `weight` is exactly what the optimiser found (and what scikit-learn
 * finds on the same inputs); `probeDirection` gives the equivalent direction in raw activation space.
 *
 * probe.json records the hook, the label mapping, the metrics, how it was trained, and the
 * capture it came from (sha256 of the capture's manifest.json and the model hash) so that
 * applying it to activations of another model is refused.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, ShapeMismatchError, describeValue } from '../src/errors.js';
import { openSafetensors, writeSafetensors } from '../src/model/index.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import type { ClassValue } from './data.js';

export const PROBE_FORMAT = 'interp.probe';
export const PROBE_FORMAT_VERSION = 1;
export const PROBE_JSON = 'probe.json';
export const PROBE_WEIGHTS = 'probe.safetensors';

/** Which probe. */
export type ProbeKind =
  /** L2 logistic regression, scikit-learn's objective, fitted by L-BFGS (logistic.ts). */
  | 'logistic'
  /** Difference of class means (mass-mean probe, Marks & Tegmark 2023), threshold at the midpoint. */
  | 'mean-diff';

/** How inputs are transformed before the probe. */
export type Preprocess = 'none' | 'center' | 'standardize';

/** Metrics of one probe (null where not measured, e.g. test metrics with --split 1). */
export interface ProbeMetrics {
  train_acc: number;
  test_acc: number | null;
  auc: number | null;
  /** Accuracy of the random-direction baseline (see `baseline` in probe.json for its definition). */
  baseline_acc: number | null;
  /** Test accuracy of the same probe trained on the control task. */
  control_acc: number | null;
  /** test_acc − control_acc (Hewitt & Liang 2019). */
  selectivity: number | null;
  /** Accuracy of predicting the training set's most frequent class. */
  majority_acc: number | null;
}

/** probe.json. */
export interface ProbeJson {
  format: typeof PROBE_FORMAT;
  format_version: number;
  hook: string;
  d: number;
  kind: ProbeKind;
  label: { field: string; classes: ClassValue[]; positive: ClassValue | null };
  /** binary: one logit, class `positive` when > 0; one-vs-rest: one logit per class, argmax. */
  output: 'binary' | 'one-vs-rest';
  preprocess: Preprocess;
  input: string;
  training: Record<string, number | string | boolean | null>;
  metrics: ProbeMetrics;
  /** What the baseline and control numbers mean, in words. */
  definitions: { baseline: string; control: string; auc: string };
  capture: { dir: string; manifest_sha256: string; model: { id: string; hash: string }; rows: number };
  versions: Record<string, string>;
  command: string[];
}

/** A probe in memory. */
export interface Probe {
  readonly json: ProbeJson;
  /** [K, d] (K = 1 for binary). */
  readonly weight: Float32Array;
  /** [K] */
  readonly bias: Float32Array;
  readonly mean?: Float32Array;
  readonly scale?: Float32Array;
  readonly k: number;
  readonly d: number;
}

/** Writes probe.safetensors then probe.json (each atomically) into `dir`. */
export function saveProbe(dir: string, probe: Probe): void {
  mkdirSync(dir, { recursive: true });
  const binary = probe.k === 1;
  const tensors: Parameters<typeof writeSafetensors>[1] = {
    weight: { dtype: 'F32', shape: binary ? [probe.d] : [probe.k, probe.d], data: probe.weight },
    bias: { dtype: 'F32', shape: [probe.k], data: probe.bias },
    ...(probe.mean ? { mean: { dtype: 'F32', shape: [probe.d], data: probe.mean } } : {}),
    ...(probe.scale ? { scale: { dtype: 'F32', shape: [probe.d], data: probe.scale } } : {}),
  };
  writeSafetensors(path.join(dir, PROBE_WEIGHTS), tensors, { format: PROBE_FORMAT, hook: probe.json.hook, kind: probe.json.kind });
  writeFileAtomic(path.join(dir, PROBE_JSON), [Buffer.from(`${JSON.stringify(probe.json, null, 2)}\n`)]);
}

function readJson(file: string): ProbeJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileFormatError(`${file}: ${code === 'ENOENT' ? 'missing' : `not valid JSON (${(error as Error).message})`}`, 'pass a folder written by `interp train-probe` (it holds probe.json and probe.safetensors)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FileFormatError(`${file}: expected a JSON object, got ${describeValue(parsed)}`, 'pass a probe folder written by `interp train-probe`');
  }
  const j = parsed as Partial<ProbeJson>;
  if (j.format !== PROBE_FORMAT) throw new FileFormatError(`${file}: "format" is ${describeValue(j.format)}, expected "${PROBE_FORMAT}"`, 'pass a probe folder written by `interp train-probe`');
  if (j.format_version !== PROBE_FORMAT_VERSION) throw new FileFormatError(`${file}: format_version ${describeValue(j.format_version)} is not supported (this interp reads ${PROBE_FORMAT_VERSION})`, 'retrain the probe with this version of interp');
  if (typeof j.hook !== 'string' || typeof j.d !== 'number' || !Array.isArray(j.label?.classes) || typeof j.capture?.model?.hash !== 'string' || j.capture.model.hash === '') {
    throw new FileFormatError(`${file}: missing hook, d, label.classes or capture.model.hash`, 'the file is damaged: retrain the probe');
  }
  const damaged = (what: string): never => {
    throw new FileFormatError(`${file}: ${what}`, 'the file is damaged: retrain the probe');
  };
  if (!Number.isSafeInteger(j.d) || j.d < 1) damaged(`d must be a positive integer, got ${describeValue(j.d)}`);
  if (j.output !== 'binary' && j.output !== 'one-vs-rest') damaged(`output must be "binary" or "one-vs-rest", got ${describeValue(j.output)}`);
  if (j.preprocess !== 'none' && j.preprocess !== 'center' && j.preprocess !== 'standardize') damaged(`preprocess must be "none", "center" or "standardize", got ${describeValue(j.preprocess)}`);
  const classes: unknown[] = j.label!.classes;
  if (!classes.every((c) => typeof c === 'string' || typeof c === 'number' || typeof c === 'boolean')) damaged('label.classes must hold strings, numbers or booleans');
  return j as ProbeJson;
}

/** Loads a probe folder (or the probe.json / probe.safetensors path inside it), checking every tensor's shape. */
export function loadProbe(location: string): Probe {
  const dir = /probe\.(json|safetensors)$/.test(location) ? path.dirname(location) : location;
  const json = readJson(path.join(dir, PROBE_JSON));
  const file = path.join(dir, PROBE_WEIGHTS);
  const weights = openSafetensors(file);
  const names = [...weights.tensors.keys()];
  const k = json.output === 'binary' ? 1 : json.label.classes.length;
  const expected: Record<string, number[]> = { weight: k === 1 ? [json.d] : [k, json.d], bias: [k] };
  if (json.preprocess !== 'none') expected.mean = [json.d];
  if (json.preprocess === 'standardize') expected.scale = [json.d];
  const missing = Object.keys(expected).filter((n) => !names.includes(n));
  const unexpected = names.filter((n) => !(n in expected));
  if (missing.length || unexpected.length) {
    throw new FileFormatError(`${file}: tensors disagree with ${PROBE_JSON} (missing: ${missing.join(', ') || 'none'}; unexpected: ${unexpected.join(', ') || 'none'})`, 'the folder mixes files of two probes: retrain it');
  }
  for (const [name, shape] of Object.entries(expected)) {
    const got = weights.info(name).shape;
    if (got.length !== shape.length || got.some((v, i) => v !== shape[i])) {
      throw new ShapeMismatchError(`${file}: tensor ${name} is [${got.join(', ')}], ${PROBE_JSON} implies [${shape.join(', ')}]`, 'the folder mixes files of two probes: retrain it');
    }
  }
  return {
    json, k, d: json.d,
    weight: weights.readF32('weight'),
    bias: weights.readF32('bias'),
    ...(expected.mean ? { mean: weights.readF32('mean') } : {}),
    ...(expected.scale ? { scale: weights.readF32('scale') } : {}),
  };
}

/** The probe's direction(s) and bias in raw activation space: z = w'·x + b' (folds mean and scale). */
export function probeDirection(probe: Probe): { weight: Float32Array; bias: Float32Array } {
  const weight = new Float32Array(probe.weight.length);
  const bias = Float32Array.from(probe.bias);
  for (let c = 0; c < probe.k; c++) {
    let shift = 0;
    for (let j = 0; j < probe.d; j++) {
      const w = probe.weight[c * probe.d + j] / (probe.scale?.[j] ?? 1);
      weight[c * probe.d + j] = w;
      shift += w * (probe.mean?.[j] ?? 0);
    }
    bias[c] -= shift;
  }
  return { weight, bias };
}
