/**
 * The capture report: what was captured (manifest card), how the residual stream's scale grows
 * over the captured hooks, a 2-D PCA of one hook's activations coloured by a label column with the
 * token and its context on hover, and the distribution of activation norms. Reads the capture
 * back from disk (a bounded sample of rows), never runs a model.
 */
import * as path from 'node:path';
import { openCapture } from '../store/index.js';
import type { Capture } from '../store/index.js';
import { ReportPage, histogramFigure, lineFigure, pca2, scatterFigure, table } from '../report/index.js';
import type { ScatterSeries, WrittenReport } from '../report/index.js';

/** Rows of the sample drawn for the PCA and the norm histogram. */
const SAMPLE_ROWS = 2000;
/** Legend entries before the remaining label values are grouped as "other". */
const MAX_CLASSES = 12;

export interface CaptureReportOptions {
  /** Hook for the PCA and histogram; default the deepest captured hook. */
  readonly hook?: string;
  /** Label column to colour the PCA by; default the first string or boolean label. */
  readonly colorBy?: string;
  readonly reportsDir?: string;
}

export async function writeCaptureReport(captureDir: string, options: CaptureReportOptions = {}): Promise<WrittenReport> {
  const capture = openCapture(captureDir);
  try {
    const m = capture.manifest;
    const hook = options.hook ?? m.hooks[m.hooks.length - 1].name;
    const colorBy = options.colorBy ?? capture.labelColumns.find((c) => c.type !== 'number')?.name ?? null;
    const run = path.basename(path.resolve(captureDir));
    const page = new ReportPage({ title: `Capture ${run}`, kind: 'capture', subtitle: `${m.model.id} · ${m.rows} rows · ${m.hooks.length} hook(s)` });
    page.manifestCard({
      ...m,
      hooks: m.hooks.map((h) => `${h.name} [${h.d}]`).join(', '),
      label_columns: m.label_columns.map((c) => `${c.name}: ${c.type}`).join(', '),
      command: m.command.join(' '),
      stats: 'per-hook sums in manifest.json',
      shards: `${m.shards.length} shard(s)`,
    });

    const norms = m.hooks.map((h) => capture.stats(h.name).meanNorm);
    page.section('Mean activation norm per hook', [
      'E‖x‖ over every captured row, in forward order. The residual stream usually grows with depth.',
      lineFigure({ x: m.hooks.map((h) => h.name), xLabel: 'hook', yLabel: 'mean ‖x‖', series: [{ name: 'mean norm', y: norms }] }),
      table({ columns: ['hook', 'd', 'rows', 'mean ‖x‖', 'E‖x‖²'], rows: m.hooks.map((h) => { const s = capture.stats(h.name); return [h.name, h.d, s.count, s.meanNorm, s.meanSqNorm]; }) }),
    ]);

    const sample = readSample(capture, hook, colorBy);
    const d = m.hooks.find((h) => h.name === hook)?.d ?? 0;
    if (sample.rows >= 3) {
      const pca = pca2(sample.values, sample.rows, d, { maxIterations: 100 });
      page.section(`PCA of ${hook}`, [
        `First two principal components of ${sample.rows} rows (the first rows of the capture)${colorBy ? `, coloured by ${colorBy}` : ''}. ` +
          `Explained variance: ${(pca.explainedVarianceRatio[0] * 100).toFixed(1)}% and ${(pca.explainedVarianceRatio[1] * 100).toFixed(1)}%. Hover shows the token in its context.`,
        scatterFigure({ xLabel: 'PC 1', yLabel: 'PC 2', series: scatterSeries(pca.coords, sample.classes, sample.hover) }),
      ]);
      const rowNorms = Array.from({ length: sample.rows }, (_, i) => Math.hypot(...sample.values.subarray(i * d, (i + 1) * d)));
      page.section(`Norms of ${hook}`, [histogramFigure({ xLabel: '‖x‖', yLabel: 'rows', series: [{ name: hook, values: rowNorms }], bins: 40 })]);
    }
    return await page.write({ name: `capture-${run}`, ...(options.reportsDir ? { reportsDir: options.reportsDir } : {}) });
  } finally {
    capture.close();
  }
}

interface Sample {
  rows: number;
  values: Float32Array;
  classes: string[];
  hover: string[];
}

/** The first SAMPLE_ROWS rows of one hook, with a class per row and the token in its context (±5 tokens) as hover. */
function readSample(capture: Capture, hook: string, colorBy: string | null): Sample {
  const d = capture.hooks.find((h) => h.name === hook)?.d ?? 0;
  const values = new Float32Array(SAMPLE_ROWS * d);
  const classes: string[] = [];
  const tokens: { seq: number; pos: number; token: string }[] = [];
  let rows = 0;
  for (const b of capture.batches({ hooks: [hook], batchRows: 1024, columns: ['token', ...(colorBy ? [colorBy] : [])] })) {
    const take = Math.min(b.rows, SAMPLE_ROWS - rows);
    values.set(b.hooks[hook].subarray(0, take * d), rows * d);
    for (let i = 0; i < take; i++) {
      classes.push(colorBy ? String(b.labels[colorBy][i] ?? 'none') : 'all');
      tokens.push({ seq: b.seq[i], pos: b.pos[i], token: b.token[i] });
    }
    rows += take;
    if (rows >= SAMPLE_ROWS) break;
  }
  const bySeq = new Map<number, { pos: number; token: string }[]>();
  for (const t of tokens) (bySeq.get(t.seq) ?? bySeq.set(t.seq, []).get(t.seq))?.push(t);
  const hover = tokens.map((t) => {
    const around = (bySeq.get(t.seq) ?? []).filter((u) => Math.abs(u.pos - t.pos) <= 5);
    // Tokens carry their own spaces (capture's token column holds Tokenizer.tokenDisplay strings).
    const context = around.map((u) => (u.pos === t.pos ? `[${u.token}]` : u.token)).join('');
    return `seq ${t.seq} pos ${t.pos}: ${context}`;
  });
  return { rows, values: values.subarray(0, rows * d), classes, hover };
}

function scatterSeries(coords: Float64Array, classes: readonly string[], hover: readonly string[]): ScatterSeries[] {
  const counts = new Map<string, number>();
  for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
  const top = new Set([...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_CLASSES).map(([c]) => c));
  const groups = new Map<string, number[]>();
  classes.forEach((c, i) => {
    const key = top.has(c) ? c : 'other';
    (groups.get(key) ?? groups.set(key, []).get(key))?.push(i);
  });
  return [...groups.entries()].map(([name, idx]) => ({
    name,
    x: idx.map((i) => coords[2 * i]),
    y: idx.map((i) => coords[2 * i + 1]),
    hover: idx.map((i) => hover[i]),
  }));
}
