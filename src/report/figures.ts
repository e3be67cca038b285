/**
 * Figure builders for the plots reports use: line plots (layer sweeps), scatter plots with
 * per-point hover text (PCA), histograms (projections, activation densities) and heatmaps
 * (attention patterns, layer × position grids). Each escapes every string it hands to plotly
 * and rounds plotted numbers for size (see `plotNumber`).
 */
import { UsageError } from '../errors.js';
import { plotlyColorscale, type ColorScaleName } from './colors.js';
import { figureLayout, plotlyFigure, type FigureComponent, type FigureOptions, type PlotObject } from './figure.js';
import { plotlyText } from './escape.js';
import { plotNumber, plotNumbers } from './format.js';
import { histogram, type Histogram } from './histogram.js';

/** Okabe & Ito's colour-blind-safe qualitative palette ("Color Universal Design", 2002), black last. */
export const SERIES_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'] as const;

const color = (i: number): string => SERIES_COLORS[i % SERIES_COLORS.length];

/** x values: numbers, or labels drawn as categories in the given order. */
export type XValues = ArrayLike<number> | readonly string[];

function xJson(x: XValues): (number | null | string)[] {
  return typeof x[0] === 'string' ? Array.from(x as readonly string[], plotlyText) : plotNumbers(x as ArrayLike<number>);
}

function hoverJson(hover: readonly string[] | undefined, length: number, what: string): string[] | undefined {
  if (hover === undefined) return undefined;
  if (hover.length !== length) {
    throw new UsageError(`${what}: hover has ${hover.length} entries for ${length} points`, 'give one hover string per point');
  }
  return hover.map(plotlyText);
}

// ── Line plots ──────────────────────────────────────────────────────────────────────────────

export interface LineSeries {
  /** Legend name. */
  readonly name: string;
  readonly y: ArrayLike<number>;
  /** x per point; default the figure's x, else 0, 1, 2, ... */
  readonly x?: XValues;
  /** Symmetric error bar per point (e.g. a standard deviation over seeds). */
  readonly error?: ArrayLike<number>;
  /** Hover text per point, shown above the x and y values. */
  readonly hover?: readonly string[];
  /** Dashed line, e.g. for a baseline. */
  readonly dashed?: boolean;
}

export interface LineFigureOptions extends FigureOptions {
  readonly series: readonly LineSeries[];
  /** Shared x for every series, e.g. layer indices. */
  readonly x?: XValues;
  /** Log-scaled y axis. */
  readonly logY?: boolean;
  /** Fixed y range, e.g. [0, 1] for accuracy. */
  readonly yRange?: readonly [number, number];
}

export function lineFigure(options: LineFigureOptions): FigureComponent {
  const data: PlotObject[] = options.series.map((s, i) => {
    const x = s.x ?? options.x ?? Array.from({ length: s.y.length }, (_, k) => k);
    if (x.length !== s.y.length) {
      throw new UsageError(`lineFigure: series "${s.name}" has ${s.y.length} y values for ${x.length} x values`, 'give x and y the same length');
    }
    const hover = hoverJson(s.hover, s.y.length, `lineFigure series "${s.name}"`);
    return {
      type: 'scatter',
      mode: s.y.length > 60 ? 'lines' : 'lines+markers',
      name: plotlyText(s.name),
      x: xJson(x),
      y: plotNumbers(s.y),
      error_y: s.error ? { type: 'data', array: plotNumbers(s.error), visible: true, thickness: 1 } : undefined,
      text: hover,
      hovertemplate: `${hover ? '%{text}<br>' : ''}%{x}: %{y:.4g}<extra>%{fullData.name}</extra>`,
      line: { color: color(i), width: 2, dash: s.dashed ? 'dash' : 'solid' },
      marker: { color: color(i), size: 6 },
    };
  });
  return plotlyFigure(
    {
      data,
      layout: figureLayout(options, {
        showlegend: options.series.length > 1,
        yaxis: { type: options.logY ? 'log' : 'linear', range: options.yRange ? [...options.yRange] : undefined },
      }),
    },
    options,
  );
}

// ── Scatter plots ───────────────────────────────────────────────────────────────────────────

export interface ScatterSeries {
  /** Legend name (a class label, say); omit for a single unnamed group. */
  readonly name?: string;
  readonly x: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  /** Hover text per point, e.g. the prompt; shown as plain text. */
  readonly hover?: readonly string[];
  /** A value per point mapped through `colorScale` instead of the series colour. */
  readonly color?: ArrayLike<number>;
}

export interface ScatterFigureOptions extends FigureOptions {
  readonly series: readonly ScatterSeries[];
  /** Scale for per-point `color` values; default viridis. */
  readonly colorScale?: ColorScaleName;
  /** Colour bar title for per-point `color` values. */
  readonly colorLabel?: string;
  /** Marker size in pixels; default 7, or 4 past 2000 points. */
  readonly markerSize?: number;
}

/**
 * Scatter plot, drawn as SVG ("scatter", not WebGL "scattergl", which needs a GPU context that
 * headless and remote browsers may lack); past some 20 000 points, subsample first.
 */
export function scatterFigure(options: ScatterFigureOptions): FigureComponent {
  const total = options.series.reduce((s, t) => s + t.x.length, 0);
  const data: PlotObject[] = options.series.map((s, i) => {
    const what = `scatterFigure series "${s.name ?? i}"`;
    if (s.x.length !== s.y.length) throw new UsageError(`${what}: x has ${s.x.length} values, y ${s.y.length}`, 'give x and y the same length');
    const hover = hoverJson(s.hover, s.x.length, what);
    const scale = options.colorScale ?? 'viridis';
    return {
      type: 'scatter',
      mode: 'markers',
      name: s.name !== undefined ? plotlyText(s.name) : undefined,
      x: plotNumbers(s.x),
      y: plotNumbers(s.y),
      text: hover,
      hovertemplate: `${hover ? '%{text}<br>' : ''}(%{x:.4g}, %{y:.4g})<extra>${s.name !== undefined ? '%{fullData.name}' : ''}</extra>`,
      marker: {
        size: options.markerSize ?? (total > 2000 ? 4 : 7),
        opacity: total > 2000 ? 0.6 : 0.85,
        color: s.color ? plotNumbers(s.color) : color(i),
        colorscale: s.color ? plotlyColorscale(scale) : undefined,
        showscale: s.color ? i === 0 : undefined,
        colorbar: s.color && options.colorLabel !== undefined ? { title: { text: plotlyText(options.colorLabel) } } : undefined,
      },
    };
  });
  return plotlyFigure({ data, layout: figureLayout(options, { showlegend: options.series.some((s) => s.name !== undefined) }) }, options);
}

// ── Histograms ──────────────────────────────────────────────────────────────────────────────

/** Raw values (binned here) or a histogram computed elsewhere (e.g. streamed over a store). */
export type HistogramSeries = { readonly name?: string; readonly values: ArrayLike<number> } | { readonly name?: string; readonly histogram: Histogram };

export interface HistogramFigureOptions extends FigureOptions {
  readonly series: readonly HistogramSeries[];
  /** Bin count for raw values; all raw series share one set of bins. Default: Sturges' rule on the largest series. */
  readonly bins?: number;
  /** Range for raw values; default their joint finite minimum and maximum. */
  readonly range?: readonly [number, number];
  /** Log-scaled count axis (activation densities span decades). */
  readonly logY?: boolean;
  /** Plot each series as a fraction of its values rather than counts. */
  readonly normalize?: boolean;
}

export function histogramFigure(options: HistogramFigureOptions): FigureComponent {
  // Raw series share a range so their bars line up when overlaid.
  let lo = Infinity;
  let hi = -Infinity;
  let largest = 0;
  for (const s of options.series) {
    if (!('values' in s)) continue;
    largest = Math.max(largest, s.values.length);
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  const range = options.range ?? (lo < hi ? ([lo, hi] as const) : undefined);
  const bins = options.bins ?? Math.min(100, Math.max(1, Math.ceil(Math.log2(Math.max(largest, 1))) + 1));
  const overlaid = options.series.length > 1;
  const data: PlotObject[] = options.series.map((s, i) => {
    const h = 'histogram' in s ? s.histogram : histogram(s.values, { bins, range });
    const centres: number[] = [];
    const widths: number[] = [];
    const ranges: string[] = [];
    for (let b = 0; b < h.counts.length; b++) {
      centres.push((h.edges[b] + h.edges[b + 1]) / 2);
      widths.push(h.edges[b + 1] - h.edges[b]);
      ranges.push(`[${h.edges[b].toPrecision(4)}, ${h.edges[b + 1].toPrecision(4)}${b === h.counts.length - 1 ? ']' : ')'}`);
    }
    const scale = options.normalize && h.total > 0 ? 1 / h.total : 1;
    return {
      type: 'bar',
      name: s.name !== undefined ? plotlyText(s.name) : undefined,
      x: plotNumbers(centres),
      y: Array.from(h.counts, (c) => plotNumber(c * scale)),
      width: plotNumbers(widths),
      text: ranges,
      textposition: 'none',
      hovertemplate: `%{text}: %{y:.4g}<extra>${s.name !== undefined ? '%{fullData.name}' : ''}</extra>`,
      marker: { color: color(i), opacity: overlaid ? 0.55 : 0.9, line: { width: 0 } },
    };
  });
  return plotlyFigure(
    {
      data,
      layout: figureLayout(
        { ...options, yLabel: options.yLabel ?? (options.normalize ? 'fraction' : 'count') },
        { barmode: 'overlay', bargap: 0, showlegend: options.series.some((s) => s.name !== undefined), yaxis: { type: options.logY ? 'log' : 'linear' } },
      ),
    },
    options,
  );
}

// ── Heatmaps ────────────────────────────────────────────────────────────────────────────────

/** A matrix as rows of numbers, or a row-major typed array with its shape [rows, cols]. */
export type Matrix = readonly ArrayLike<number>[] | { readonly values: ArrayLike<number>; readonly rows: number; readonly cols: number };

export interface HeatmapFigureOptions extends FigureOptions {
  readonly z: Matrix;
  /** Column and row labels (tokens, layer names); duplicates are fine, each cell keeps its own. */
  readonly xLabels?: readonly (string | number)[];
  readonly yLabels?: readonly (string | number)[];
  /** Colour scale; default viridis, or diverging (centred on 0) when values have both signs. */
  readonly scale?: ColorScaleName;
  /** Value range mapped to the scale; default the data's (symmetric about 0 for diverging). */
  readonly zRange?: readonly [number, number];
  /** Colour bar title. */
  readonly zLabel?: string;
  /** Row 0 at the top, as in a matrix (default true). */
  readonly originTop?: boolean;
}

function isRowList(z: Matrix): z is readonly ArrayLike<number>[] {
  return Array.isArray(z); // not 'values' in z: arrays have a values() method
}

function matrixRows(z: Matrix): number[][] {
  if (isRowList(z)) return z.map((row) => Array.from(row));
  if (z.values.length !== z.rows * z.cols) {
    throw new UsageError(`heatmapFigure: ${z.values.length} values for a ${z.rows} × ${z.cols} matrix`, 'give values of length rows × cols (row-major)');
  }
  return Array.from({ length: z.rows }, (_, r) => Array.from({ length: z.cols }, (_, c) => z.values[r * z.cols + c]));
}

/**
 * Heatmap. Axes are indices with the labels as tick text, so repeated tokens ("the" twice) stay
 * separate columns, which plotly's categorical axes would merge.
 */
export function heatmapFigure(options: HeatmapFigureOptions): FigureComponent {
  const rows = matrixRows(options.z);
  const nCols = rows.reduce((m, r) => Math.max(m, r.length), 0);
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of rows) for (const v of row) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const scale = options.scale ?? (lo < 0 && hi > 0 ? 'diverging' : 'viridis');
  const bound = Math.max(Math.abs(lo), Math.abs(hi));
  const range = options.zRange ?? (scale === 'diverging' && Number.isFinite(bound) ? [-bound, bound] : undefined);
  const label = (labels: readonly (string | number)[] | undefined, i: number): string => plotlyText(String(labels?.[i] ?? i));
  const axis = (labels: readonly (string | number)[] | undefined, n: number): PlotObject =>
    labels === undefined
      ? {}
      : n <= 80
        ? { tickmode: 'array', tickvals: Array.from({ length: n }, (_, i) => i), ticktext: Array.from({ length: n }, (_, i) => label(labels, i)), showgrid: false }
        : { showgrid: false };
  const hover = options.xLabels !== undefined || options.yLabels !== undefined
    ? rows.map((row, r) => Array.from({ length: row.length }, (_, c) => `${label(options.yLabels, r)} · ${label(options.xLabels, c)}`))
    : undefined;
  const data: PlotObject[] = [
    {
      type: 'heatmap',
      z: rows.map((row) => plotNumbers(row)),
      text: hover,
      hovertemplate: `${hover ? '%{text}' : '%{y} · %{x}'}: %{z:.4g}<extra></extra>`,
      colorscale: plotlyColorscale(scale),
      zmin: range?.[0],
      zmax: range?.[1],
      colorbar: { title: options.zLabel !== undefined ? { text: plotlyText(options.zLabel) } : undefined, thickness: 14 },
    },
  ];
  return plotlyFigure(
    {
      data,
      layout: figureLayout(options, {
        xaxis: { ...axis(options.xLabels, nCols), tickangle: options.xLabels !== undefined && nCols > 12 ? -60 : undefined },
        yaxis: { ...axis(options.yLabels, rows.length), autorange: options.originTop === false ? true : 'reversed' },
      }),
    },
    { ...options, height: options.height ?? Math.min(900, Math.max(260, 120 + rows.length * 22)) },
  );
}
