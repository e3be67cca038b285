import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { heatmapFigure, histogramFigure, lineFigure, scatterFigure, type PlotObject } from '../../src/report/index.js';

const trace = (f: { spec: { data: readonly PlotObject[] } }, i = 0): PlotObject => f.spec.data[i];

describe('figure builders', () => {
  it('escape every string they hand to plotly', () => {
    const f = lineFigure({ title: '<b>t</b>', xLabel: 'a&b', series: [{ name: '<i>n</i>', y: [1, 2], hover: ['<x>', '&'] }], x: ['<p>', 'q'] });
    expect(JSON.stringify(f.spec)).not.toMatch(/<(b|i|x|p)>/);
    expect(trace(f).name).toBe('&lt;i&gt;n&lt;/i&gt;');
    expect(trace(f).text).toEqual(['&lt;x&gt;', '&amp;']);
    expect(trace(f).x).toEqual(['&lt;p&gt;', 'q']);
  });

  it('round plotted numbers and turn non-finite values into gaps', () => {
    const f = scatterFigure({ series: [{ x: Float32Array.from([0.1, NaN]), y: [1 / 3, Infinity] }] });
    expect(trace(f).x).toEqual([0.1, null]);
    expect(trace(f).y).toEqual([0.333333, null]);
  });

  it('refuse mismatched lengths, naming the series', () => {
    expect(() => lineFigure({ x: [0, 1, 2], series: [{ name: 'acc', y: [1, 2] }] })).toThrow(/series "acc" has 2 y values for 3 x values/);
    expect(() => scatterFigure({ series: [{ name: 's', x: [1], y: [1], hover: ['a', 'b'] }] })).toThrow(UsageError);
    expect(() => heatmapFigure({ z: { values: [1, 2, 3], rows: 2, cols: 2 } })).toThrow(/3 values for a 2 × 2 matrix/);
  });

  it('histogram: raw series share bins; precomputed histograms pass through', () => {
    const f = histogramFigure({ bins: 4, series: [{ name: 'a', values: [0, 1] }, { name: 'b', values: [3, 4] }] });
    expect(trace(f, 0).x).toEqual(trace(f, 1).x);
    expect(trace(f, 0).y).toEqual([1, 1, 0, 0]);
    expect(trace(f, 1).y).toEqual([0, 0, 0, 2]); // 3 and 4 both fall in [3, 4], the last bin being closed
    const normalized = histogramFigure({ bins: 2, normalize: true, series: [{ values: [0, 0, 0, 1] }] });
    expect(trace(normalized).y).toEqual([0.75, 0.25]);
  });

  it('heatmap: index axes with tick labels keep duplicate labels apart; signed data gets a symmetric diverging scale', () => {
    const f = heatmapFigure({ z: { values: Float32Array.from([-1, 2, 0, 1]), rows: 2, cols: 2 }, xLabels: ['the', 'the'] });
    const layout = f.spec.layout as { xaxis: { tickvals: number[]; ticktext: string[] } };
    expect(layout.xaxis.tickvals).toEqual([0, 1]);
    expect(layout.xaxis.ticktext).toEqual(['the', 'the']);
    expect([trace(f).zmin, trace(f).zmax]).toEqual([-2, 2]);
    expect((trace(f).colorscale as [number, string][])[5]).toEqual([0.5, '#f7f7f7']);
    expect(trace(f).z).toEqual([[-1, 2], [0, 1]]);
  });
});
