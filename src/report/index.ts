/** The report framework: pages, components, escaping, the report index, and numeric helpers. */
export { ReportPage, type ReportKind, type ReportPageOptions, type WriteOptions, type WrittenReport } from './page.js';
export { prose, renderBlock, renderBlocks, type Block, type Component, type RenderContext } from './component.js';
export { Html, html, raw, joinHtml, escapeHtml, jsonForScript, plotlyText, type HtmlValue } from './escape.js';
export { manifestCard, type ManifestCardOptions } from './manifest.js';
export { table, type Cell, type TableColumn, type TableOptions } from './table.js';
export { columns, details, callout } from './layout.js';
export { plotlyFigure, figureLayout, type FigureComponent, type FigureOptions, type PlotSpec, type PlotObject, type PlotJson } from './figure.js';
export {
  lineFigure,
  scatterFigure,
  histogramFigure,
  heatmapFigure,
  SERIES_COLORS,
  type LineSeries,
  type LineFigureOptions,
  type ScatterSeries,
  type ScatterFigureOptions,
  type HistogramSeries,
  type HistogramFigureOptions,
  type Matrix,
  type HeatmapFigureOptions,
  type XValues,
} from './figures.js';
export { tokenText, tokenContexts, tokenSpans, contextWindow, resolveTokenScale, type TokenTextOptions, type TokenContext, type TokenContextsOptions, type TokenScale, type ResolvedScale } from './tokens.js';
export { colorAt, textColorOn, plotlyColorscale, type ColorScaleName } from './colors.js';
export { formatNumber, plotNumber, plotNumbers } from './format.js';
export { histogram, type Histogram, type HistogramOptions } from './histogram.js';
export { pca2, type Pca2, type Pca2Options } from './pca.js';
export { resolveReportsDir, reportFile, slugify, relativeUrl, writeFileAtomic, ensurePlotlyAsset, PLOTLY_ASSET } from './files.js';
export { updateIndex, listReports, scanReports, renderIndexPage, INDEX_FORMAT, INDEX_VERSION, type ReportEntry } from './registry.js';
