/**
 * trainProbe: a layer sweep of linear probes over the hooks of one capture.
 *
 * Steps per hook: read the hook's rows, split by sequence, fit the preprocessing on the training
 * rows, upload, fit the probe, score train and test on the engine, then the three references:
 * the random-direction baseline, the control task (selectivity, Hewitt & Liang 2019) and — at
 * the best layer only — the shuffled-label sanity check. Everything is validated before any
 * training starts, and nothing is written unless `out` is given and every layer succeeded.
 */
import * as path from 'node:path';
import { getGpu, upload, type Gpu, type Tensor } from '../src/engine/index.js';
import { UsageError } from '../src/errors.js';
import { openCapture, type Capture } from '../src/store/index.js';
import { versions } from '../src/versions.js';
import { saveProbe, PROBE_FORMAT, PROBE_FORMAT_VERSION, type Preprocess, type Probe, type ProbeJson, type ProbeKind, type ProbeMetrics } from './artifact.js';
import { gatherRows, manifestHash, readHook, readLabelledRows, resolveCaptureHooks, type LabelledRows } from './data.js';
import { fitLogistic, LOGISTIC_DEFAULTS, oneVsRestTargets, type LinearFit } from './logistic.js';
import { applyPreprocessing, fitMeanDiff, fitPreprocessing, randomBaseline, scoreOnGpu } from './linear.js';
import { accuracy, majorityAccuracy, probeAuc } from './metrics.js';
import { controlLabels, shuffledLabels, splitBySequence, type Split } from './split.js';
import { writeSweepManifest } from './sweep-manifest.js';

/** Options of `trainProbe`. */
export interface TrainProbeOptions {
  /** Capture directory (`interp capture --out`). */
  readonly capture: string;
  /** Label column to probe. */
  readonly label: string;
  /** Hooks to sweep (full or short names); default every captured hook. */
  readonly hooks?: readonly string[];
  readonly kind?: ProbeKind;
  /** Train fraction by sequence, in (0, 1]; 1 trains on everything and reports train metrics only. Default 0.8. */
  readonly split?: number;
  readonly seed?: number;
  /** Logistic: inverse regularisation strength (sklearn's C). Default 1. */
  readonly c?: number;
  /** Logistic: gradient tolerance (sklearn's tol). Default 1e-4. */
  readonly tol?: number;
  /** Logistic: most L-BFGS iterations. Default 1000. */
  readonly maxIter?: number;
  readonly preprocess?: Preprocess;
  /** Random draws averaged by the baseline. Default 5. */
  readonly baselineDraws?: number;
  /** Run directory: one folder per hook with probe.safetensors and probe.json, plus manifest.json. */
  readonly out?: string;
  /** Recorded in probe.json. */
  readonly command?: readonly string[];
  /** Called with (hooks done, hooks); the CLI draws it as a progress bar. */
  readonly progress?: (done: number, total: number) => void;
}

/** One hook of the sweep. */
export interface LayerResult {
  readonly hook: string;
  readonly metrics: ProbeMetrics;
  readonly probe: Probe;
  /** Folder the probe was saved in, or null without `out`. */
  readonly path: string | null;
}

/** Result of `trainProbe`. */
export interface TrainProbeResult {
  readonly layers: readonly LayerResult[];
  /** Hook with the highest test accuracy (train accuracy with split 1); ties go to the earlier hook. */
  readonly best: { hook: string; test_acc: number | null; train_acc: number };
  /** The best layer's probe retrained on shuffled training labels; its test accuracy should be near chance. */
  readonly shuffled: { hook: string; test_acc: number | null; chance: number | null };
  readonly rows: LabelledRows;
  readonly split: Split;
  readonly capture: string;
}

const CONTROL_TEXT = 'Hewitt & Liang (2019) control task: every token type (token id) is given one label drawn at random (seeded) from the training label distribution; the same probe is trained on these labels and control_acc is its test accuracy. selectivity = test_acc − control_acc.';
const AUC_TEXT = 'ROC AUC on the test rows (train rows with split 1): binary from the logit; one-vs-rest as the unweighted mean of each class\'s AUC (sklearn multi_class="ovr", average="macro"). Ties count one half.';

function baselineText(draws: number): string {
  return `Random-direction baseline: mean accuracy over ${draws} seeded draws; each draw takes one random unit direction per logit (one for binary, one per class for one-vs-rest), fits a scale and bias per direction on the training rows with the same logistic objective and C (1-D), and predicts like the probe.`;
}

interface Resolved {
  readonly o: Required<Omit<TrainProbeOptions, 'out' | 'command' | 'progress' | 'hooks'>> & Pick<TrainProbeOptions, 'out' | 'command' | 'progress'>;
  readonly hooks: string[];
  readonly rows: LabelledRows;
  readonly split: Split;
}

/** Checks every input before training: label column, classes, hooks, split sides. */
function resolve(capture: Capture, options: TrainProbeOptions): Resolved {
  const o = { kind: 'logistic' as ProbeKind, split: 0.8, seed: 0, c: LOGISTIC_DEFAULTS.c, tol: LOGISTIC_DEFAULTS.tol, maxIter: LOGISTIC_DEFAULTS.maxIter, preprocess: 'none' as Preprocess, baselineDraws: 5, ...options };
  if (!(o.split > 0 && o.split <= 1)) throw new UsageError(`--split ${o.split}: the train fraction must be in (0, 1]`, 'pass e.g. --split 0.8 (or --split 1 to train on everything)');
  if (!(o.c > 0)) throw new UsageError(`--c ${o.c}: C must be positive`, 'pass e.g. --c 1');
  const rows = readLabelledRows(capture, o.label);
  const hooks = resolveCaptureHooks(capture, options.hooks);
  const split = splitBySequence(rows.seq, rows.rows, o.split, o.seed);
  if (o.split < 1 && (split.train.length === 0 || split.test.length === 0)) {
    throw new UsageError(`${capture.dir}: ${split.trainSequences + split.testSequences} labelled sequence(s) cannot be split into train and test`, 'capture more sequences, or pass --split 1 to train on everything');
  }
  const trainClasses = new Set(Array.from(split.train, (r) => rows.y[r]));
  if (trainClasses.size < 2) throw new UsageError(`${capture.dir}: the training split holds one class of "${o.label}" only`, 'use another --seed or a larger --split');
  return { o, hooks, rows, split };
}

/** Fits the requested kind on rows already on the GPU. */
async function fitKind(gpu: Gpu, kind: ProbeKind, x: Tensor, y: Int32Array, classes: number, r: Resolved['o']): Promise<LinearFit & { info: Record<string, number | string> }> {
  switch (kind) {
    case 'logistic': {
      const k = classes === 2 ? 1 : classes;
      const fit = await fitLogistic(gpu, x, oneVsRestTargets(y, k), k, { c: r.c, tol: r.tol, maxIter: r.maxIter });
      return { ...fit, info: { iterations: fit.iterations, evaluations: fit.evaluations, stop: fit.stop, grad_max: fit.gradMax, objective: fit.objective, gpu_path: fit.evaluator } };
    }
    case 'mean-diff':
      return { ...(await fitMeanDiff(gpu, x, y, classes)), info: {} };
  }
}

function pick(y: Int32Array, rows: Int32Array): Int32Array {
  return Int32Array.from(rows, (r) => y[r]);
}

/** Trains and evaluates one hook. */
async function trainLayer(gpu: Gpu, capture: Capture, hook: string, res: Resolved): Promise<{ result: Omit<LayerResult, 'path'>; xTrain: Tensor; xTest: Tensor | null }> {
  const { o, rows, split } = res;
  const d = capture.hooks.find((h) => h.name === hook)?.d ?? 0;
  const all = readHook(capture, hook);
  const trainHost = gatherRows(all, d, split.train);
  const prep = fitPreprocessing(o.preprocess, trainHost, d);
  const xTrain = upload(gpu, applyPreprocessing(prep, trainHost, d), [split.train.length, d]);
  const hasTest = split.test.length > 0;
  const xTest = hasTest ? upload(gpu, applyPreprocessing(prep, gatherRows(all, d, split.test), d), [split.test.length, d]) : null;
  const K = rows.classes.length;
  const [yTrain, yTest] = [pick(rows.y, split.train), pick(rows.y, split.test)];
  const fit = await fitKind(gpu, o.kind, xTrain, yTrain, K, o);
  const trainScores = await scoreOnGpu(gpu, xTrain, fit);
  const testScores = xTest ? await scoreOnGpu(gpu, xTest, fit) : null;
  const control = controlLabels(rows.tokenId, rows.y, split.train, rows.rows, o.seed);
  const controlFit = xTest ? await fitKind(gpu, o.kind, xTrain, pick(control, split.train), K, o) : null;
  const evalSide = xTest ? { x: xTest, y: yTest } : { x: xTrain, y: yTrain };
  const baseline = await randomBaseline(gpu, { x: xTrain, y: yTrain }, evalSide, fit.k, { seed: o.seed, c: o.c, draws: o.baselineDraws });
  const testAcc = testScores ? accuracy(testScores, fit.k, yTest) : null;
  const controlAcc = controlFit && xTest ? accuracy(await scoreOnGpu(gpu, xTest, controlFit), fit.k, pick(control, split.test)) : null;
  const metrics: ProbeMetrics = {
    train_acc: accuracy(trainScores, fit.k, yTrain),
    test_acc: testAcc,
    auc: testScores ? probeAuc(testScores, fit.k, yTest) : probeAuc(trainScores, fit.k, yTrain),
    baseline_acc: baseline,
    control_acc: controlAcc,
    selectivity: testAcc !== null && controlAcc !== null ? testAcc - controlAcc : null,
    majority_acc: hasTest ? majorityAccuracy(yTrain, yTest, K) : majorityAccuracy(yTrain, yTrain, K),
  };
  const probe: Probe = { json: probeJson(capture, hook, d, res, metrics, fit.info), weight: fit.weight, bias: fit.bias, k: fit.k, d, ...(prep.mean ? { mean: prep.mean } : {}), ...(prep.scale ? { scale: prep.scale } : {}) };
  return { result: { hook, metrics, probe }, xTrain, xTest };
}

function probeJson(capture: Capture, hook: string, d: number, res: Resolved, metrics: ProbeMetrics, info: Record<string, number | string>): ProbeJson {
  const { o, rows, split } = res;
  const m = capture.manifest;
  const binary = rows.classes.length === 2;
  return {
    format: PROBE_FORMAT, format_version: PROBE_FORMAT_VERSION, hook, d, kind: o.kind,
    label: { field: rows.field, classes: [...rows.classes], positive: binary ? rows.classes[1] : null },
    output: binary ? 'binary' : 'one-vs-rest',
    preprocess: o.preprocess,
    input: o.preprocess === 'none' ? 'x' : o.preprocess === 'center' ? 'x - mean' : '(x - mean) / scale',
    training: {
      c: o.kind === 'logistic' ? o.c : null, tol: o.kind === 'logistic' ? o.tol : null, max_iter: o.kind === 'logistic' ? o.maxIter : null,
      split: o.split, seed: o.seed, train_rows: split.train.length, test_rows: split.test.length,
      train_sequences: split.trainSequences, test_sequences: split.testSequences, ...info,
    },
    metrics,
    definitions: { baseline: baselineText(o.baselineDraws), control: CONTROL_TEXT, auc: AUC_TEXT },
    capture: { dir: path.resolve(capture.dir), manifest_sha256: manifestHash(capture.dir), model: { id: m.model.id, hash: m.model.hash }, rows: m.rows },
    versions: { ...versions() },
    command: [...(o.command ?? [])],
  };
}

/** Trains one probe per hook of a capture and evaluates it; see the file comment. */
export async function trainProbe(options: TrainProbeOptions): Promise<TrainProbeResult> {
  const capture = openCapture(options.capture);
  try {
    const res = resolve(capture, options);
    const gpu = await getGpu();
    const layers: Omit<LayerResult, 'path'>[] = [];
    let best: { index: number; x: Tensor; score: number } | null = null;
    const held: Tensor[] = [];
    try {
      for (const [i, hook] of res.hooks.entries()) {
        const { result, xTrain, xTest } = await trainLayer(gpu, capture, hook, res);
        layers.push(result);
        const score = result.metrics.test_acc ?? result.metrics.train_acc;
        if (!best || score > best.score) {
          for (const t of held.splice(0)) t.dispose();
          best = { index: i, x: xTrain, score };
          held.push(xTrain, ...(xTest ? [xTest] : []));
        } else {
          xTrain.dispose(); xTest?.dispose();
        }
        res.o.progress?.(i + 1, res.hooks.length);
      }
      const top = layers[best?.index ?? 0];
      const shuffled = await shuffledControl(gpu, res, held[0], held[1] ?? null);
      const saved = layers.map((l) => ({ ...l, path: res.o.out ? path.join(path.resolve(res.o.out), folderName(l.hook)) : null }));
      if (res.o.out) {
        for (const l of saved) if (l.path) saveProbe(l.path, l.probe);
        writeSweepManifest(res.o.out, capture, saved, { label: res.rows.field, kind: res.o.kind, split: res.o.split, seed: res.o.seed, command: res.o.command ?? [] });
      }
      return { layers: saved, best: { hook: top.hook, test_acc: top.metrics.test_acc, train_acc: top.metrics.train_acc }, shuffled: { hook: top.hook, ...shuffled }, rows: res.rows, split: res.split, capture: path.resolve(options.capture) };
    } finally {
      for (const t of held) t.dispose();
    }
  } finally {
    capture.close();
  }
}

/** The best layer's probe retrained on shuffled training labels, scored against the true test labels. */
async function shuffledControl(gpu: Gpu, res: Resolved, xTrain: Tensor, xTest: Tensor | null): Promise<{ test_acc: number | null; chance: number | null }> {
  if (!xTest) return { test_acc: null, chance: null };
  const { rows, split, o } = res;
  const y = shuffledLabels(rows.y, split.train, o.seed);
  const fit = await fitKind(gpu, o.kind, xTrain, pick(y, split.train), rows.classes.length, o);
  const yTest = pick(rows.y, split.test);
  return { test_acc: accuracy(await scoreOnGpu(gpu, xTest, fit), fit.k, yTest), chance: majorityAccuracy(pick(rows.y, split.train), yTest, rows.classes.length) };
}

/** Folder of one hook's probe inside the run directory (hook names are safe file names). */
export function folderName(hook: string): string {
  return hook.replace(/[^A-Za-z0-9._-]/g, '_');
}
