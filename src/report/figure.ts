/**
 * Plotly figures on a page. A figure is a `<div>` plus its spec (traces, layout, config) as
 * JSON in a `<script type="application/json" data-plot>` block beside it; the page's boot
 * script parses each block and calls Plotly.newPlot. Data never passes through an HTML or JS
 * parser as code: `jsonForScript` makes `</script>` in a token harmless, and every string the
 * builders hand to plotly goes through `plotlyText` first.
 */
import type { Component } from './component.js';
import { html, jsonForScript, plotlyText, raw } from './escape.js';

/** A plotly trace or layout object: JSON-serialisable values only. */
export type PlotJson = string | number | boolean | null | readonly PlotJson[] | { readonly [key: string]: PlotJson | undefined };
export type PlotObject = { readonly [key: string]: PlotJson | undefined };

/** Options every figure builder takes. */
export interface FigureOptions {
  /** Title drawn above the plot. */
  readonly title?: string;
  /** Caption below the plot: what it shows and how to read it. */
  readonly caption?: string;
  /** Axis titles. */
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Plot height in CSS pixels; default 380. Width follows the page. */
  readonly height?: number;
}

export interface PlotSpec {
  readonly data: readonly PlotObject[];
  readonly layout: PlotObject;
}

export interface FigureComponent extends Component {
  readonly kind: 'figure';
  /** The spec as it will be embedded, for tests and for reuse in other pages. */
  readonly spec: PlotSpec;
}

const BASE_LAYOUT: PlotObject = {
  font: { family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 13, color: '#1f2328' },
  paper_bgcolor: '#ffffff',
  plot_bgcolor: '#ffffff',
  margin: { l: 64, r: 24, t: 48, b: 56 },
  hovermode: 'closest',
  hoverlabel: { align: 'left' },
  legend: { orientation: 'h', y: -0.2 },
};

const AXIS: PlotObject = { gridcolor: '#e6e8eb', zerolinecolor: '#c9ced4', automargin: true };

/** The plotly config every figure gets: no plotly logo or cloud links; images saved locally. */
const CONFIG: PlotObject = { responsive: true, displaylogo: false, showLink: false, showSendToCloud: false };

/** Layout with the shared look, escaped titles and the caller's additions on top. */
export function figureLayout(options: FigureOptions, extra: PlotObject = {}): PlotObject {
  const xaxis = extra.xaxis as PlotObject | undefined;
  const yaxis = extra.yaxis as PlotObject | undefined;
  return {
    ...BASE_LAYOUT,
    ...extra,
    title: options.title !== undefined ? { text: plotlyText(options.title), x: 0, xanchor: 'left' } : undefined,
    margin: { ...(BASE_LAYOUT.margin as PlotObject), t: options.title !== undefined ? 48 : 16 },
    xaxis: { ...AXIS, title: options.xLabel !== undefined ? { text: plotlyText(options.xLabel) } : undefined, ...xaxis },
    yaxis: { ...AXIS, title: options.yLabel !== undefined ? { text: plotlyText(options.yLabel) } : undefined, ...yaxis },
  };
}

/**
 * A figure from a ready plotly spec. The builders (lineFigure, scatterFigure, ...) cover the
 * usual cases; use this for anything else, and pass every data string through `plotlyText`.
 */
export function plotlyFigure(spec: PlotSpec, options: Pick<FigureOptions, 'caption' | 'height'> = {}): FigureComponent {
  const height = options.height ?? 380;
  return {
    kind: 'figure',
    spec,
    render: (ctx) => {
      ctx.usePlotly();
      const id = ctx.nextId('plot');
      // jsonForScript output cannot close the script element, so it is inserted as markup.
      const json = jsonForScript({ data: spec.data, layout: spec.layout, config: CONFIG });
      return html`<figure class="figure"><div id="${id}" class="plot" style="height:${height}px"></div><script type="application/json" data-plot="${id}">${raw(json)}</script>${options.caption !== undefined ? html`<figcaption>${options.caption}</figcaption>` : ''}</figure>`;
    },
  };
}
