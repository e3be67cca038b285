/**
 * The probe report: the layer sweep (train and test accuracy, AUC, random-direction baseline,
 * control task and selectivity), then at the best layer the distribution of the probe's logits
 * per class, a PCA of the activations coloured by label, and the direction read through the
 * unembedding (logit lens). Activations are read back from the capture; scores come from the
 * engine through applyProbe. Linked from reports/index.html by ReportPage.write.
 */
import * as path from 'node:path';
import { columns, histogramFigure, lineFigure, pca2, ReportPage, scatterFigure, table, type Block, type ScatterSeries, type WrittenReport } from '../src/report/index.js';
import { openCapture } from '../src/store/index.js';
import { applyProbe } from './apply.js';
import type { Probe } from './artifact.js';
import { gatherRows, readHook } from './data.js';
import { logitLens } from './logit-lens.js';
import type { TrainProbeResult } from './train.js';

/** Rows drawn for the PCA (the histograms use every evaluation row). */
const PCA_ROWS = 2000;
/** Histograms drawn for a one-vs-rest probe (one per class). */
const MAX_CLASS_HISTOGRAMS = 8;

export interface ProbeReportOptions {
  readonly reportsDir?: string;
  /** The run directory (names the report); default the capture's folder name. */
  readonly out?: string;
}

const pct = (v: number | null): number => (v === null ? NaN : v);

function sweepSection(result: TrainProbeResult): Block[] {
  const hooks = result.layers.map((l) => l.hook);
  const m = result.layers.map((l) => l.metrics);
  const hasTest = m.some((x) => x.test_acc !== null);
  // Selectivity can be negative (the control task easier than the task): keep it on the chart.
  const low = Math.min(0, ...m.map((x) => (x.selectivity === null ? 0 : x.selectivity)));
  return [
    `One ${result.layers[0].probe.json.kind} probe per hook for "${result.rows.field}" (${result.rows.classes.length} classes: ${result.rows.classes.map(String).join(', ')}), ` +
      `trained on ${result.split.train.length} rows from ${result.split.trainSequences} sequences and evaluated on ${result.split.test.length} rows from ${result.split.testSequences} other sequences (split by sequence, never by token).`,
    lineFigure({
      x: hooks, xLabel: 'hook', yLabel: 'accuracy / AUC / selectivity', yRange: [low < 0 ? low - 0.05 : 0, 1.02],
      series: [
        { name: 'train accuracy', y: m.map((x) => x.train_acc) },
        ...(hasTest ? [{ name: 'test accuracy', y: m.map((x) => pct(x.test_acc)) }] : []),
        { name: 'AUC', y: m.map((x) => pct(x.auc)) },
        { name: 'random-direction baseline', y: m.map((x) => pct(x.baseline_acc)), dashed: true },
        ...(hasTest ? [{ name: 'control task', y: m.map((x) => pct(x.control_acc)), dashed: true }, { name: 'selectivity', y: m.map((x) => pct(x.selectivity)) }] : []),
        { name: 'majority class', y: m.map((x) => pct(x.majority_acc)), dashed: true },
      ],
    }),
    table({
      columns: ['hook', 'train acc', 'test acc', 'AUC', 'baseline acc', 'control acc', 'selectivity', 'majority'],
      rows: result.layers.map((l) => [l.hook, l.metrics.train_acc, pct(l.metrics.test_acc), pct(l.metrics.auc), pct(l.metrics.baseline_acc), pct(l.metrics.control_acc), pct(l.metrics.selectivity), pct(l.metrics.majority_acc)]),
    }),
    `Baseline: ${result.layers[0].probe.json.definitions.baseline}`,
    `Control: ${result.layers[0].probe.json.definitions.control}`,
    `Shuffled-label sanity check at ${result.shuffled.hook}: the same probe trained on permuted training labels scores ${result.shuffled.test_acc === null ? 'n/a (no test split)' : result.shuffled.test_acc.toFixed(3)} on the test rows (majority class: ${result.shuffled.chance === null ? 'n/a' : result.shuffled.chance.toFixed(3)}).`,
  ];
}

/** Logit histograms per class: binary, one figure with a series per class; one-vs-rest, one figure per class (that class vs the rest). */
function histogramBlocks(probe: Probe, scores: Float32Array, y: Int32Array): Block {
  const classes = probe.json.label.classes.map(String);
  if (probe.k === 1) {
    return histogramFigure({ xLabel: 'probe logit', yLabel: 'rows', bins: 40, series: classes.map((c, i) => ({ name: c, values: scores.filter((_, r) => y[r] === i) })) });
  }
  const figures = classes.slice(0, MAX_CLASS_HISTOGRAMS).map((c, i) => histogramFigure({
    xLabel: `logit of ${c}`, yLabel: 'rows', bins: 30, height: 300,
    series: [
      { name: c, values: Float32Array.from(scores.filter((_, j) => j % probe.k === i && y[Math.floor(j / probe.k)] === i)) },
      { name: 'rest', values: Float32Array.from(scores.filter((_, j) => j % probe.k === i && y[Math.floor(j / probe.k)] !== i)) },
    ],
  }));
  return columns(figures, { titles: classes.slice(0, MAX_CLASS_HISTOGRAMS) });
}

function pcaSeries(coords: Float64Array, y: Int32Array, classes: readonly string[], hover: readonly string[]): ScatterSeries[] {
  return classes.map((name, c) => {
    const idx = Array.from(y.keys()).filter((i) => y[i] === c);
    return { name, x: idx.map((i) => coords[2 * i]), y: idx.map((i) => coords[2 * i + 1]), hover: idx.map((i) => hover[i]) };
  });
}

/** Histograms and PCA at the best layer, from the capture's evaluation rows. */
async function bestLayerSection(result: TrainProbeResult, probe: Probe): Promise<Block[]> {
  const capture = openCapture(result.capture);
  let all: Float32Array;
  try {
    all = readHook(capture, probe.json.hook);
  } finally {
    capture.close();
  }
  const rows = result.split.test.length > 0 ? result.split.test : result.split.train;
  const side = result.split.test.length > 0 ? 'test' : 'train';
  const x = gatherRows(all, probe.d, rows);
  const y = Int32Array.from(rows, (r) => result.rows.y[r]);
  const scored = await applyProbe(probe, x, { output: 'logit' });
  const classes = probe.json.label.classes.map(String);
  const n = Math.min(rows.length, PCA_ROWS);
  const pca = pca2(x.subarray(0, n * probe.d), n, probe.d, { maxIterations: 100 });
  const hover = Array.from(rows.subarray(0, n), (r) => `seq ${result.rows.seq[r]}: ${result.rows.token[r]} (${classes[result.rows.y[r]]})`);
  return [
    `Logits of the probe at ${probe.json.hook} on the ${rows.length} ${side} rows, by true class.`,
    histogramBlocks(probe, scored.scores, y),
    `PCA of the raw activations at ${probe.json.hook} (${n} ${side} rows), coloured by ${result.rows.field}. Explained variance: ${(pca.explainedVarianceRatio[0] * 100).toFixed(1)}% and ${(pca.explainedVarianceRatio[1] * 100).toFixed(1)}%.`,
    scatterFigure({ xLabel: 'PC 1', yLabel: 'PC 2', series: pcaSeries(pca.coords, y.subarray(0, n), classes, hover) }),
  ];
}

async function lensSection(result: TrainProbeResult, probe: Probe): Promise<Block[]> {
  const capture = openCapture(result.capture);
  const model = capture.manifest.model;
  capture.close();
  const lens = await logitLens(probe, model);
  if (!lens.ok) return [`Logit lens skipped: ${lens.note}.`];
  return [
    `Tokens whose unembedding rows have the largest and smallest dot product with the probe direction (raw activation space), read from ${lens.source}. The final norm is skipped: this shows where the direction points in token space, not calibrated logits.`,
    table({
      columns: ['direction', 'top tokens (W_U·w)', 'bottom tokens'],
      rows: lens.rows.map((r) => [r.label, r.top.map((t) => `${t.token} (${t.logit.toFixed(2)})`).join(' · '), r.bottom.map((t) => `${t.token} (${t.logit.toFixed(2)})`).join(' · ')]),
    }),
  ];
}

/** Writes the report of a train-probe run under the reports directory. */
export async function writeProbeReport(result: TrainProbeResult, options: ProbeReportOptions = {}): Promise<WrittenReport> {
  const best = result.layers.find((l) => l.hook === result.best.hook) ?? result.layers[0];
  const probe = best.probe;
  const run = path.basename(path.resolve(options.out ?? result.capture));
  const page = new ReportPage({ title: `Probe ${result.rows.field} · ${run}`, kind: 'probe-sweep', subtitle: `${probe.json.capture.model.id} · ${probe.json.kind} · best ${best.hook} (test accuracy ${best.metrics.test_acc?.toFixed(3) ?? 'n/a'})` });
  page.manifestCard({
    capture: result.capture, model: probe.json.capture.model, label: probe.json.label, kind: probe.json.kind, output: probe.json.output,
    input: probe.json.input, training: probe.json.training, out: options.out ? path.resolve(options.out) : null, command: probe.json.command.join(' '),
  });
  page.section('Layer sweep', sweepSection(result));
  page.section(`Best layer: ${best.hook}`, await bestLayerSection(result, probe));
  page.section('Logit lens of the direction', await lensSection(result, probe));
  return page.write({ name: `probe-${result.rows.field}-${run}`, ...(options.reportsDir ? { reportsDir: options.reportsDir } : {}) });
}
