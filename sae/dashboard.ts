/**
 * The SAE dashboard: one static report per trained SAE, written under the reports directory.
 *
 *   training curves      loss, L0, explained variance, dead fraction against tokens (when a log is given)
 *   L0 vs EV             the sparsity–fidelity trade-off across runs/checkpoints, or this SAE alone
 *   LM metrics           CE-loss score, KL score, delta LM loss (when computed, see metrics-lm.ts)
 *   densities            histogram of log10 latent density over a capture
 *   attributes           best latent per known attribute with F1, one table per labeling (TinyWorld: where the model uses it, then story state)
 *   latent cards         the N most frequently firing latents (plus every attribute's best match)
 *   latent index         every latent by id, filterable by density class
 *
 * Latent statistics come from one streaming pass over a capture (dashboard-scan.ts); the report
 * itself never runs the model (logit effects read two weight tensors from its checkpoint).
 */
import * as path from 'node:path';
import { ReportPage, columns, histogramFigure, html, lineFigure, scatterFigure, table } from '../src/report/index.js';
import type { Block, Html, WrittenReport } from '../src/report/index.js';
import { AttributeCounter, type AttributeMatch, type AttributeReport, type TokenLabeler } from './attributes.js';
import { dashboardStyle, latentCard, latentIndex, scanNotes } from './dashboard-cards.js';
import { logitEffects, openUnembedding, type LogitEffect, type UnembeddingSource } from './dashboard-logits.js';
import { scanCapture, type LatentScan, type ScanOptions } from './dashboard-scan.js';
import type { LmMetrics } from './metrics-lm.js';
import { isTranscoder, outputWidth, type Sae } from './sae.js';

/** One logged training step, as the trainer records it. */
export interface TrainingLogEntry {
  /** Training tokens seen so far. */
  readonly tokens: number;
  readonly loss: number;
  readonly l0: number;
  readonly explained_variance: number;
  /** Fraction of latents dead at this step. */
  readonly dead_fraction: number;
}

/** A point of the L0 vs explained-variance plot: another run or a checkpoint of this one. */
export interface RunPoint {
  readonly name: string;
  readonly l0: number;
  readonly explained_variance: number;
}

export interface SaeDashboardOptions extends Omit<ScanOptions, 'observers' | 'hook'> {
  readonly sae: Sae;
  /** Capture to scan for densities and contexts (a held-out one, with --positions all). */
  readonly captureDir: string;
  /** Report name under the reports directory, e.g. "sae/run1". */
  readonly name: string;
  readonly reportsDir?: string;
  /** Page title; default "SAE <hook>" ("Transcoder <hook> → <hook_name_out>" for a transcoder). */
  readonly title?: string;
  /** Run metadata shown in the manifest card (e.g. the run's manifest.json). */
  readonly manifest?: object;
  readonly trainingLog?: readonly TrainingLogEntry[];
  /** Held-out metrics (sae/metrics.ts) as name → value; `l0` and `explained_variance` also place this SAE on the L0–EV plot. */
  readonly metrics?: Readonly<Record<string, number | null>>;
  readonly lmMetrics?: LmMetrics;
  /** Other runs or checkpoints for the L0–EV plot. */
  readonly runs?: readonly RunPoint[];
  /** The model (a HookedTransformer) or its directory / hub id, for logit effects; none: no logit tables. */
  readonly model?: UnembeddingSource | string;
  /** Latent cards for the most frequently firing latents (default 64). */
  readonly cards?: number;
  /**
   * Attribute matches computed elsewhere, or labelers to compute them in the same pass; one table
   * each, in order (a single report or labeler is a list of one).
   */
  readonly attributes?: AttributeReport | TokenLabeler | readonly (AttributeReport | TokenLabeler)[];
  /** Capture column holding the SAE's input; default the SAE's hook. */
  readonly hook?: string;
}

export interface SaeDashboard {
  readonly report: WrittenReport;
  readonly scan: LatentScan;
  /** One report per entry of the `attributes` option, in order; empty when none was given. */
  readonly attributes: readonly AttributeReport[];
  /** Latents that got a card, in page order. */
  readonly cards: readonly number[];
  /** Latents that never fired in the scanned rows. */
  readonly dead: number;
}

/** Scans the capture, builds the page and writes it (see the file comment). */
export async function writeSaeDashboard(o: SaeDashboardOptions): Promise<SaeDashboard> {
  const given = o.attributes === undefined ? [] : Array.isArray(o.attributes) ? o.attributes : [o.attributes as AttributeReport | TokenLabeler];
  const sources = given.map((a) => ('label' in a ? new AttributeCounter(a, o.sae.cfg.d_sae) : a));
  const counters = sources.filter((a): a is AttributeCounter => a instanceof AttributeCounter);
  const scan = await scanCapture(o.sae, o.captureDir, { ...o, observers: counters });
  const attributes = sources.map((a) => (a instanceof AttributeCounter ? a.result() : a));
  const matches = new Map<number, AttributeMatch[]>();
  for (const report of attributes) {
    for (const a of report.matches) if (a.latent !== null) matches.set(a.latent, [...(matches.get(a.latent) ?? []), attributes.length > 1 ? { ...a, attribute: `${a.attribute} (${report.labeler})` } : a]);
  }
  const cards = cardLatents(scan, o.cards ?? 64, matches);
  const unembedding = typeof o.model === 'string' ? await openUnembedding(o.model) : o.model;
  const logits = unembedding ? logitEffects(unembedding, o.sae, cards) : null;

  const hook = scan.hook;
  // A transcoder's latents are scanned on its input hook; its decoder rows write the output hook.
  const hookOut = isTranscoder(o.sae.cfg) ? (o.sae.cfg.metadata.hook_name_out ?? '(output hook not recorded)') : null;
  const { cfg } = o.sae;
  const page = new ReportPage({
    title: o.title ?? (hookOut ? `Transcoder ${hook} → ${hookOut}` : `SAE ${hook}`), kind: 'sae',
    subtitle: `${cfg.architecture}${hookOut ? ' transcoder' : ''} · d_in ${cfg.d_in}${hookOut ? ` · d_out ${outputWidth(cfg)}` : ''} · d_sae ${cfg.d_sae} · ${path.basename(path.resolve(o.captureDir))}`,
  });
  page.add(dashboardStyle());
  // The answer first (held-out metrics), then how training got there; the run card goes last, collapsed.
  if (o.metrics || o.lmMetrics) page.section('Metrics', metricTables(o.metrics, o.lmMetrics));
  if (o.trainingLog && o.trainingLog.length > 0) page.section('Training', trainingCurves(o.trainingLog));
  const tradeoff = tradeoffFigure(o);
  if (tradeoff) page.section('L0 vs explained variance', tradeoff);
  page.section('Latent density', densitySection(scan));
  if (attributes.length > 0) page.section('Attributes', attributes.flatMap((a) => attributeSection(a, new Set(cards))));
  page.section('Latents', [
    ...(hookOut ? [`A transcoder reads ${hook} and writes ${hookOut}: activations and contexts are those of the input hook; logit effects are those of each latent's decoder row added at ${hookOut}.`] : []),
    `Cards for the ${cards.length} latents that fire most often${matches.size > 0 ? ', and every attribute\'s best match' : ''}. Contexts show ${scan.contexts ? '±5 tokens around' : ''} the token, shaded by the latent's activation on one scale per card (0 to its maximum); grey tokens (BOS, EOS, padding) are left out of every statistic.`,
    ...scanNotes(scan),
    ...cards.map((l) => latentCard({ scan, latent: l, logits: logits?.get(l) ?? null, attributes: matches.get(l) ?? [], ...(hookOut ? { transcoder: { hook, hookOut } } : {}) })),
  ]);
  page.section('All latents', ['Every latent by id. Filter by density class or cards; Ctrl+F "#id" finds one latent.', latentIndex(scan, new Set(cards), matches)]);
  page.manifestCard(manifestOf(o, scan));
  const report = await page.write({ name: o.name, reportsDir: o.reportsDir });
  let dead = 0;
  for (let l = 0; l < scan.dSae; l++) if (scan.fires[l] === 0) dead++;
  return { report, scan, attributes, cards, dead };
}

/** The `count` latents that fire most often (ties to lower ids), then attribute matches not already among them. */
function cardLatents(scan: LatentScan, count: number, matches: ReadonlyMap<number, readonly AttributeMatch[]>): number[] {
  const order = Array.from({ length: scan.dSae }, (_, l) => l).filter((l) => scan.fires[l] > 0).sort((a, b) => scan.fires[b] - scan.fires[a] || a - b);
  const chosen = order.slice(0, count);
  const seen = new Set(chosen);
  for (const l of [...matches.keys()].sort((a, b) => a - b)) if (!seen.has(l)) chosen.push(l);
  return chosen;
}

function manifestOf(o: SaeDashboardOptions, scan: LatentScan): object {
  const { cfg } = o.sae;
  return {
    sae: {
      architecture: cfg.architecture, d_in: cfg.d_in, d_sae: cfg.d_sae, k: cfg.k, hook: cfg.metadata.hook_name,
      ...(isTranscoder(cfg) ? { transcoder: true, d_out: cfg.d_out, hook_out: cfg.metadata.hook_name_out ?? null } : {}),
      model: cfg.metadata.model_name, apply_b_dec_to_input: cfg.apply_b_dec_to_input,
    },
    capture: { dir: path.resolve(o.captureDir), rows_scanned: `${scan.rowsRead} of ${scan.rowsTotal}`, sequences: scan.sequences, tokens_counted: scan.tokens, ignored_token_ids: scan.ignoredTokenIds },
    ...(o.manifest ? { run: o.manifest } : {}),
  };
}

function trainingCurves(log: readonly TrainingLogEntry[]): Block[] {
  const x = log.map((e) => e.tokens);
  const curve = (name: string, y: number[], yLabel: string, yRange?: [number, number]) => lineFigure({ x, series: [{ name, y }], xLabel: 'training tokens', yLabel, title: name, height: 280, yRange });
  return [
    'Logged during training, against training tokens.',
    columns([
      [curve('loss', log.map((e) => e.loss), 'loss')],
      [curve('L0', log.map((e) => e.l0), 'active latents per token')],
      [curve('explained variance', log.map((e) => e.explained_variance), 'EV')],
      [curve('dead fraction', log.map((e) => e.dead_fraction), 'fraction of latents', [0, 1])],
    ]),
  ];
}

function tradeoffFigure(o: SaeDashboardOptions): Block[] | null {
  const l0 = o.metrics?.l0;
  const ev = o.metrics?.explained_variance;
  const self = typeof l0 === 'number' && typeof ev === 'number' ? [{ name: 'this SAE', l0, explained_variance: ev }] : [];
  const runs = o.runs ?? [];
  if (self.length === 0 && runs.length === 0) return null;
  const series = [
    ...(runs.length > 0 ? [{ name: 'runs / checkpoints', x: runs.map((r) => r.l0), y: runs.map((r) => r.explained_variance), hover: runs.map((r) => r.name) }] : []),
    ...self.map((s) => ({ name: s.name, x: [s.l0], y: [s.explained_variance], hover: [`this SAE: L0 ${s.l0.toFixed(2)}, EV ${s.explained_variance.toFixed(4)}`] })),
  ];
  return ['Sparsity against reconstruction on held-out activations: up and to the left is better.', scatterFigure({ series, xLabel: 'L0 (active latents per token)', yLabel: 'explained variance', height: 340 })];
}

function metricTables(metrics: Readonly<Record<string, number | null>> | undefined, lm: LmMetrics | undefined): Block[] {
  const blocks: Block[] = [];
  if (metrics) blocks.push(table({ columns: ['metric', 'value'], rows: Object.entries(metrics).map(([k, v]) => [k, v]), caption: 'Held-out reconstruction metrics' }));
  if (lm) {
    blocks.push(table({
      columns: ['metric', 'value'],
      caption: lm.hookOut
        ? `Language-model metrics with the transcoder spliced in: ${lm.hookOut} replaced by its output from ${lm.hook} (${lm.tokens} next-token predictions, ${lm.sequences} sequences)`
        : `Language-model metrics with the SAE spliced at ${lm.hook} (${lm.tokens} next-token predictions, ${lm.sequences} sequences)`,
      rows: [
        ['CE-loss score', lm.ceLossScore], ['KL score', lm.klScore], ['delta LM loss (nats)', lm.deltaLmLoss],
        ['CE clean', lm.ceClean], ['CE with SAE', lm.ceWithSae], ['CE zero ablation', lm.ceZeroAblation],
        ['KL with SAE', lm.klSae], ['KL zero ablation', lm.klZeroAblation], ['zero ablation positions', lm.zeroAblation], ['ignored token ids', lm.ignoredTokenIds.join(', ')],
      ],
    }));
  }
  return blocks;
}

function densitySection(scan: LatentScan): Block[] {
  const log10: number[] = [];
  let dead = 0;
  for (let l = 0; l < scan.dSae; l++) {
    if (scan.fires[l] === 0) dead++;
    else log10.push(Math.log10(scan.fires[l] / scan.tokens));
  }
  const text = `Fraction of the ${scan.tokens} counted tokens on which each latent fires, in log10. ${dead} of ${scan.dSae} latents (${((100 * dead) / scan.dSae).toFixed(1)}%) never fired and are not plotted.`;
  return log10.length > 0 ? [text, histogramFigure({ series: [{ name: 'latents', values: log10 }], bins: 50, xLabel: 'log10 density', yLabel: 'latents' })] : [text];
}

function attributeSection(report: AttributeReport, carded: ReadonlySet<number>): Block[] {
  const rows = report.matches.map((a) => [
    a.attribute,
    a.latent === null ? '—' : latentLink(a.latent, carded),
    a.f1, a.precision, a.recall, a.positives, a.fires,
  ]);
  return [
    ...(report.title ? [html`<h3>${report.title}</h3>`] : []),
    ...(report.description ? [report.description] : []),
    `For each attribute value (${report.labeler} ground truth), the latent whose firing (f > ${report.threshold}) best predicts it, by F1 over ${report.tokens} tokens of ${report.sequences} sequences${report.skippedSequences > 0 ? ` (${report.skippedSequences} sequences could not be labelled and were left out)` : ''}.`,
    table({ columns: ['attribute', 'best latent', 'F1', 'precision', 'recall', 'tokens with attribute', 'tokens latent fires'], rows }),
  ];
}

function latentLink(l: number, carded: ReadonlySet<number>): Html {
  return html`<a href="${carded.has(l) ? `#latent-${l}` : `#idx-${l}`}">#${String(l)}</a>`;
}

export type { LogitEffect };
