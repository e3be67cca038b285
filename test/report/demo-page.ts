/** A page with every component, shared by the browser tests and handy for eyeballing the look. */
import {
  ReportPage,
  callout,
  columns,
  details,
  heatmapFigure,
  histogramFigure,
  lineFigure,
  pca2,
  scatterFigure,
  table,
  tokenContexts,
  tokenText,
} from '../../src/report/index.js';

/** Deterministic pseudo-random numbers in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

export const DEMO_TOKENS = ['<|endoftext|>', 'The', ' cat', ' sat', ' on', ' the', ' mat', '.', '\n', 'It', ' was', ' happy', '.'];

/** Expected point counts of the demo page's plots, in page order. */
export const DEMO_PLOTS = [
  { traces: 2, points: 24 }, // line: 2 series × 12 layers
  { traces: 2, points: 200 }, // PCA scatter: 2 classes × 100
  { traces: 2, points: 40 }, // histogram: 2 series × 20 bins
  { traces: 1, points: DEMO_TOKENS.length * DEMO_TOKENS.length }, // attention heatmap
];

export function demoPage(): ReportPage {
  const random = lcg(7);
  const layers = Array.from({ length: 12 }, (_, l) => l);
  const page = new ReportPage({ title: 'Demo report: every component', kind: 'demo', subtitle: 'Synthetic data', createdAt: new Date('2025-01-02T03:04:05Z') });
  page.manifestCard({
    model: 'gpt2',
    revision: '607a30d783dfa663caf39e06633721c8d4cfcd7e',
    hooks: ['blocks.0.hook_resid_post', 'blocks.6.hook_resid_post'],
    dataset: { path: 'datasets/tinyworld/stories.jsonl', sha256: 'ab12cd34', rows: 2048 },
    seed: 42,
    versions: { interp: '0.1.0', node: process.version },
    command: 'interp capture --model gpt2 --hooks resid_post.0,resid_post.6 --out runs/demo',
  });
  page.section('Layer sweep', [
    'Probe accuracy per layer, train and test.\n\nThe dashed line is the test split.',
    lineFigure({
      title: 'Accuracy by layer',
      x: layers,
      xLabel: 'layer',
      yLabel: 'accuracy',
      yRange: [0, 1],
      series: [
        { name: 'train', y: layers.map((l) => 0.5 + 0.04 * l), hover: layers.map((l) => `blocks.${l}.hook_resid_post`) },
        { name: 'test', y: layers.map((l) => 0.5 + 0.035 * l), error: layers.map(() => 0.02), dashed: true },
      ],
      caption: 'Higher is better; chance is 0.5.',
    }),
  ]);
  // Two Gaussian classes in 16 dimensions, separated along one direction.
  const n = 200;
  const d = 16;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = (random() - 0.5) * (j === 0 ? 1 : 0.3) + (j === 0 && i >= 100 ? 2 : 0);
  const { coords, explainedVarianceRatio } = pca2(data, n, d);
  const half = (k: number, from: number): number[] => Array.from({ length: 100 }, (_, i) => coords[(from + i) * 2 + k]);
  page.section('PCA of activations', [
    scatterFigure({
      title: `PC1 (${(explainedVarianceRatio[0] * 100).toFixed(1)}%) against PC2 (${(explainedVarianceRatio[1] * 100).toFixed(1)}%)`,
      xLabel: 'PC1',
      yLabel: 'PC2',
      series: [
        { name: 'cheese', x: half(0, 0), y: half(1, 0), hover: Array.from({ length: 100 }, (_, i) => `prompt ${i}: The mouse ate the cheese.`) },
        { name: 'no cheese', x: half(0, 100), y: half(1, 100), hover: Array.from({ length: 100 }, (_, i) => `prompt ${100 + i}: The cat sat.`) },
      ],
    }),
  ]);
  page.section('Projections', [
    histogramFigure({
      xLabel: 'projection on probe direction',
      bins: 20,
      series: [
        { name: 'positive', values: Array.from({ length: 500 }, () => random() + 0.5) },
        { name: 'negative', values: Array.from({ length: 500 }, () => random() - 0.5) },
      ],
    }),
  ]);
  const pattern = DEMO_TOKENS.map((_, q) => DEMO_TOKENS.map((__, k) => (k <= q ? 1 / (q + 1) : 0)));
  page.section('Attention pattern', [heatmapFigure({ title: 'blocks.0.attn.hook_pattern, head 3', z: pattern, xLabels: DEMO_TOKENS, yLabels: DEMO_TOKENS, xLabel: 'key', yLabel: 'query', zLabel: 'weight', scale: 'cividis' })]);
  const activations = DEMO_TOKENS.map((_, i) => (i === 2 ? 3.2 : i === 11 ? 1.4 : random() * 0.3));
  page.section('Tokens', [
    tokenText({ tokens: DEMO_TOKENS, values: activations, valueLabel: 'latent 1234', highlight: 2 }),
    columns(
      [
        tokenText({ tokens: DEMO_TOKENS, values: DEMO_TOKENS.map(() => 0), scale: 'diverging', range: [-1, 1], valueLabel: 'KL' }),
        tokenText({ tokens: DEMO_TOKENS, values: DEMO_TOKENS.map((_, i) => Math.sin(i)), valueLabel: 'KL', hover: DEMO_TOKENS.map((t) => `baseline: ${t}`) }),
      ],
      { titles: ['Baseline', 'Steered'] },
    ),
    details('Top-activating contexts', [
      tokenContexts({
        valueLabel: 'activation',
        contexts: [
          { tokens: DEMO_TOKENS, values: activations, center: 2 },
          { tokens: DEMO_TOKENS, values: activations, center: 11, label: 'prompt 9' },
        ],
      }),
    ], { open: true }),
  ]);
  page.section('Metrics', [
    table({
      caption: 'SAE metrics',
      columns: ['metric', { label: 'value', help: 'over 10 000 eval tokens' }, 'note'],
      rows: [
        ['L0', 32, 'mean active latents'],
        ['explained variance', 0.91234567, null],
        ['dead latents', 12, 'never active'],
      ],
    }),
    callout('Synthetic data: numbers mean nothing.', { tone: 'warning' }),
  ]);
  return page;
}
