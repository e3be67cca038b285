/**
 * Linear probes: library API. Train a layer sweep on a capture (trainProbe), save and load the
 * artifact (saveProbe, loadProbe), score activations (applyProbe: per-token probabilities or
 * logits, what steering's monitor mode uses), and write the report. The CLI commands
 * `train-probe` and `probe` are registered from ./command.ts.
 *
 *   const sweep = await trainProbe({ capture: 'caps/mood', label: 'label', out: 'runs/mood' });
 *   const probe = loadProbe(sweep.layers[0].path!);
 *   const { scores } = await applyProbe(probe, activations);   // [n, K] probabilities
 */
export { trainProbe, folderName, type TrainProbeOptions, type TrainProbeResult, type LayerResult } from './train.js';
export { applyProbe, applyProbeToCapture, type ApplyOptions, type ProbeScores, type CaptureScores, type ScoreOutput, type CentreSource } from './apply.js';
export { loadProbe, saveProbe, probeDirection, PROBE_FORMAT, PROBE_FORMAT_VERSION, type Probe, type ProbeJson, type ProbeKind, type ProbeMetrics, type Preprocess } from './artifact.js';
export { fitLogistic, oneVsRestTargets, LOGISTIC_DEFAULTS, type LogisticOptions, type LogisticFit, type LinearFit } from './logistic.js';
export { lbfgs, type LbfgsOptions, type LbfgsResult, type LbfgsStop, type Objective, type Evaluation } from './lbfgs.js';
export { fitMeanDiff, fitPreprocessing, applyPreprocessing, randomBaseline, scoreOnGpu, type Preprocessing } from './linear.js';
export { accuracy, binaryAuc, probeAuc, majorityAccuracy } from './metrics.js';
export { splitBySequence, controlLabels, shuffledLabels, type Split } from './split.js';
export { writeProbeReport, type ProbeReportOptions } from './report.js';
export { logitLens, type LogitLens, type LensRow } from './logit-lens.js';
