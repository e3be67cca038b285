/**
 * Applying a trained probe: per-token scores on the engine, for library users (steering's monitor
 * mode scores each generated token's activation) and for `interp probe` on a capture.
 *
 * Vocabulary: n = rows (tokens), d = the probe's hook width, K = logits (1 binary, classes OvR).
 */
import { getGpu, upload } from '../src/engine/index.js';
import { ShapeMismatchError, UnknownHookError, UsageError } from '../src/errors.js';
import { openCapture } from '../src/store/index.js';
import type { Probe } from './artifact.js';
import { scoreOnGpu } from './linear.js';
import { predictRow } from './metrics.js';

/** What `applyProbe` returns per row. */
export type ScoreOutput =
  /** The raw logits z = w·u + b. */
  | 'logit'
  /** Binary: σ(z). One-vs-rest: σ(z_c) normalised over classes, as sklearn's OneVsRestClassifier.predict_proba. */
  | 'probability';

/** Where the mean subtracted from inputs of a centred probe comes from. */
export type CentreSource =
  /** The training mean stored in probe.safetensors (default). */
  | 'probe'
  /** The scored capture's own per-dimension mean (per-dataset centring); needs a capture. */
  | 'capture';

export interface ApplyOptions {
  /** Default 'probability'. */
  readonly output?: ScoreOutput;
  /** Replaces the stored mean (per-dataset centring); [d]. */
  readonly mean?: Float32Array;
}

/** Per-row scores of one probe. */
export interface ProbeScores {
  readonly rows: number;
  /** Columns per row: 1 (binary: the positive class) or the number of classes. */
  readonly k: number;
  /** [rows, k] row-major. */
  readonly scores: Float32Array;
  /** [rows] predicted class index into `classes`. */
  readonly predicted: Int32Array;
  readonly classes: readonly (string | number | boolean)[];
  readonly output: ScoreOutput;
}

/** Scores `activations` ([n, d] row-major raw activations of the probe's hook) on the engine. */
export async function applyProbe(probe: Probe, activations: Float32Array, options: ApplyOptions = {}): Promise<ProbeScores> {
  const d = probe.d;
  if (activations.length % d !== 0) {
    throw new ShapeMismatchError(`applyProbe: ${activations.length} values are not a whole number of rows of d = ${d} (hook ${probe.json.hook})`, `pass [n, ${d}] activations of ${probe.json.hook}`);
  }
  const n = activations.length / d;
  const output = options.output ?? 'probability';
  const mean = options.mean ?? probe.mean;
  const u = mean || probe.scale ? Float32Array.from(activations, (v, i) => (v - (mean?.[i % d] ?? 0)) / (probe.scale?.[i % d] ?? 1)) : activations;
  const gpu = await getGpu();
  const x = upload(gpu, u, [n, d]);
  let logits: Float32Array;
  try {
    logits = await scoreOnGpu(gpu, x, { weight: probe.weight, bias: probe.bias, k: probe.k, d });
  } finally {
    x.dispose();
  }
  const predicted = Int32Array.from({ length: n }, (_, i) => predictRow(logits, i, probe.k));
  const scores = output === 'logit' ? logits : probabilities(logits, probe.k);
  return { rows: n, k: probe.k, scores, predicted, classes: probe.json.label.classes, output };
}

function probabilities(logits: Float32Array, k: number): Float32Array {
  const p = logits.map((z) => 1 / (1 + Math.exp(-z)));
  if (k === 1) return p;
  for (let i = 0; i < p.length; i += k) {
    let s = 0;
    for (let c = 0; c < k; c++) s += p[i + c];
    for (let c = 0; c < k; c++) p[i + c] = s > 0 ? p[i + c] / s : 1 / k;
  }
  return p;
}

/** Scores of every row of a capture, with where each row came from. */
export interface CaptureScores extends ProbeScores {
  readonly seq: Int32Array;
  readonly pos: Int32Array;
  readonly tokenId: Int32Array;
  readonly token: readonly string[];
  /** Accuracy against the capture's own column of the probe's label, when it has one (else null). */
  readonly accuracy: number | null;
}

/**
 * Scores every row of a capture. Refuses a capture without the probe's hook, with another width,
 * or from another model than the probe was trained on (compared by model hash), before scoring.
 */
export async function applyProbeToCapture(probe: Probe, captureDir: string, options: { output?: ScoreOutput; centre?: CentreSource } = {}): Promise<CaptureScores> {
  const capture = openCapture(captureDir);
  try {
    const hook = probe.json.hook;
    const spec = capture.hooks.find((h) => h.name === hook);
    if (!spec) throw new UnknownHookError(`${captureDir}: hook ${hook}, which the probe reads, is not in this capture (captured: ${capture.hooks.map((h) => h.name).join(', ')})`, `capture it: interp capture --hooks ${hook} ...`);
    if (spec.d !== probe.d) throw new ShapeMismatchError(`${captureDir}: hook ${hook} has width ${spec.d}, the probe expects ${probe.d}`, 'score activations of the model the probe was trained on');
    const model = capture.manifest.model;
    if (model.hash !== probe.json.capture.model.hash) {
      throw new UsageError(
        `${captureDir}: captured from model ${model.id} (hash ${model.hash.slice(0, 12)}…), but the probe was trained on ${probe.json.capture.model.id} (hash ${probe.json.capture.model.hash.slice(0, 12)}…)`,
        'score a capture of the model the probe was trained on (`interp capture --model` with that model)',
      );
    }
    if (options.centre === 'capture' && !probe.mean) throw new UsageError('centring on the capture applies to centred probes only, and this probe was trained without centring', 'drop --centre capture, or retrain with --center');
    const mean = options.centre === 'capture' ? Float32Array.from(capture.stats(hook).mean) : undefined;
    const activations = new Float32Array(capture.rows * spec.d);
    const seq = new Int32Array(capture.rows);
    const pos = new Int32Array(capture.rows);
    const tokenId = new Int32Array(capture.rows);
    const token: string[] = [];
    for (const b of capture.batches({ hooks: [hook], batchRows: 8192, columns: ['token'] })) {
      activations.set(b.hooks[hook], b.start * spec.d);
      seq.set(b.seq, b.start); pos.set(b.pos, b.start); tokenId.set(b.tokenId, b.start);
      for (const t of b.token) token.push(t);
    }
    const scores = await applyProbe(probe, activations, { output: options.output, ...(mean ? { mean } : {}) });
    let acc: number | null = null;
    if (capture.labelColumns.some((c) => c.name === probe.json.label.field)) {
      // Rows whose label is one of the probe's classes; others (null, unseen values) are left out.
      const known = new Map(probe.json.label.classes.map((c, i) => [String(c), i]));
      const values = capture.labels(probe.json.label.field).values;
      let hit = 0;
      let count = 0;
      values.forEach((v, r) => {
        const c = v === null ? undefined : known.get(String(v));
        if (c === undefined) return;
        count++;
        if (scores.predicted[r] === c) hit++;
      });
      acc = count ? hit / count : null;
    }
    return { ...scores, seq, pos, tokenId, token, accuracy: acc };
  } finally {
    capture.close();
  }
}
