/**
 * The demo's overview page: what each stage did, its headline numbers, links to every report it
 * wrote, and the command lines to run it again. The numbers come from the stages' --json
 * documents (kept in demo.json) and the SAE's attributes.json; anything missing shows as "–"
 * rather than failing, since the page must still be written for a partly unusual run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { callout, details, html, joinHtml, lineFigure, ReportPage, table, type Block } from '../report/index.js';
import type { DemoState, StageRecord } from './run.js';
import { demoPaths, STAGE_NAMES, type StageName } from './stages.js';

/** Writes reports/overview.html and returns its absolute path. */
export async function writeOverview(state: DemoState, out: string): Promise<string> {
  const paths = demoPaths(out);
  const reportsDir = paths.reports;
  const pageFile = path.join(reportsDir, 'overview.html');
  const total = STAGE_NAMES.reduce((s, n) => s + (state.stages[n]?.seconds ?? 0), 0);
  const page = new ReportPage({
    title: 'interp demo · TinyWorld',
    kind: 'demo',
    subtitle: `The whole toolkit on the embedded TinyWorld model: ${STAGE_NAMES.length} stages in ${minutes(total)}${state.scale === 'quick' ? ' (quick run: small budgets, weak figures)' : ''}.`,
  });
  page.add(callout([
    'TinyWorld is a generated story world whose attributes (species, mood, place, weather, food, negation) are known at every token, with a small Llama model trained on it. Because the ground truth is known, each technique below is scored against it.',
    'The demo captured activations into Arrow files, trained linear probes for mood at every layer, trained a TopK sparse autoencoder on the middle layer, built a happy − sad steering vector from contrastive pairs, and swept its strength against its cost. Every stage is an ordinary interp command (listed at the end) whose outputs are in runs/.',
  ]));
  page.section('Stages', [stageTable(state, pageFile, reportsDir)]);
  page.section('Probes: where does the model represent mood?', probeSection(state.stages['train-probe']));
  page.section('Sparse autoencoder: which latents are TinyWorld attributes?',
    saeSection(state.stages['train-sae'], paths.sae, sparseProbeSection([state.stages['sae-probe-mood'], state.stages['sae-probe-species']])));
  page.section('Steering: turning sad stories happy, and what it costs', steerSection(state.stages.steer));
  page.section('Run it again', [
    'Each stage by hand, exactly as the demo ran it (paths are absolute):',
    details('command lines', STAGE_NAMES.map((n) => state.stages[n]).filter((r): r is StageRecord => r !== undefined).map((r) => html`<pre><code>${r.command.map(shellWord).join(' ')}</code></pre>`)),
  ]);
  page.manifestCard({ model: state.model, scale: state.scale, out, versions: state.versions });
  const written = await page.write({ name: 'overview', reportsDir });
  return written.file;
}

// ---------------------------------------------------------------- reading the stage documents

/** The value at a dotted path of a JSON document, or undefined. */
function at(doc: unknown, dotted: string): unknown {
  let v = doc;
  for (const key of dotted.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
const num = (doc: unknown, dotted: string): number | null => {
  const v = at(doc, dotted);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};
const str = (doc: unknown, dotted: string): string | null => {
  const v = at(doc, dotted);
  return typeof v === 'string' ? v : null;
};
const rows = (doc: unknown, dotted: string): unknown[] => {
  const v = at(doc, dotted);
  return Array.isArray(v) ? v : [];
};

const fixed = (v: number | null, digits = 3): string => (v === null ? '–' : v.toFixed(digits));
const percent = (v: number | null, digits = 1): string => (v === null ? '–' : `${(100 * v).toFixed(digits)}%`);
const minutes = (s: number): string => (s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);
/** Short hook name for prose: blocks.2.hook_resid_post → resid_post.2. */
const shortHook = (h: string | null): string => (h === null ? '–' : h.replace(/^blocks\.(\d+)\.hook_(.+)$/, '$2.$1'));

/** A POSIX-shell rendering of one argument, so the command lines copy and paste. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------- sections

function headline(name: StageName, r: unknown): string {
  switch (name) {
    case 'capture-probe-set':
    case 'capture-species':
    case 'capture-corpus':
      return `${num(r, 'rows') ?? '–'} rows from ${num(r, 'sequences') ?? '–'} sequences, ${rows(r, 'hooks').length} hook(s)`;
    case 'train-probe':
      return `best layer ${shortHook(str(r, 'best.hook'))}: test accuracy ${fixed(num(r, 'best.test_acc'))} (shuffled labels: ${fixed(num(r, 'shuffled_control.test_acc'))})`;
    case 'train-sae':
      return `L0 ${fixed(num(r, 'metrics.l0'), 1)}, explained variance ${fixed(num(r, 'metrics.explained_variance'))}, dead ${percent(num(r, 'metrics.dead_fraction'), 2)}, CE-loss score ${fixed(num(r, 'metrics.ce_loss_score'))}`;
    case 'sae-probe-mood':
    case 'sae-probe-species': {
      const matches = sparseMatches(r);
      const best = matches[0];
      return `${matches.filter((m) => m.f1 >= 0.8).length} of ${matches.length} values have a latent with F1 ≥ 0.8${best ? ` (best ${best.attribute.replace(/^label=/, '')}: latent ${best.latent ?? '–'}, F1 ${best.f1.toFixed(3)})` : ''}`;
    }
    case 'vector':
      return `norm ${fixed(num(r, 'vectors.0.norm'), 2)} (mean ‖h‖ at the hook ${fixed(num(r, 'vectors.0.hook_mean_norm'), 1)})`;
    case 'steer': {
      const knee = at(r, 'knee');
      return knee === null || knee === undefined
        ? `baseline happy endings ${percent(num(r, 'baseline.success_rate'), 0)}; no coefficient within the ΔCE budget`
        : `happy endings ${percent(num(r, 'baseline.success_rate'), 0)} → ${percent(num(r, 'knee.success_rate'), 0)} at ${fixed(num(r, 'knee.coeff'), 2)}× the residual norm (neutral ΔCE ${fixed(num(r, 'knee.neutral_ce_delta'))} nats)`;
    }
  }
}

function stageTable(state: DemoState, pageFile: string, reportsDir: string): Block {
  return table({
    columns: ['stage', 'headline', { label: 'time', align: 'right' }, 'reports'],
    rows: STAGE_NAMES.map((name) => {
      const r = state.stages[name];
      if (!r) return [name, 'not run', '', ''];
      const links = r.reports.map((e) => html`<a href="${linkTo(pageFile, path.join(reportsDir, e.path))}">${e.title}</a>`);
      return [name, headline(name, r.result), minutes(r.seconds), joinHtml(links, '<br>')];
    }),
  });
}

/** A relative link from the overview to another page, each path segment URL-encoded. */
function linkTo(fromFile: string, target: string): string {
  return path.relative(path.dirname(fromFile), target).split(path.sep).map(encodeURIComponent).join('/');
}

function probeSection(stage: StageRecord | undefined): Block[] {
  if (!stage) return ['Not run.'];
  const layers = rows(stage.result, 'layers');
  const hooks = layers.map((l) => shortHook(str(l, 'hook')));
  const series = (key: string) => layers.map((l) => num(l, key) ?? Number.NaN);
  return [
    `A logistic probe (scikit-learn's objective) per layer on the token just before a mood word. The best layer is ${shortHook(str(stage.result, 'best.hook'))} with test accuracy ${fixed(num(stage.result, 'best.test_acc'))}; the same probe on shuffled labels reaches ${fixed(num(stage.result, 'shuffled_control.test_acc'))}, against ${fixed(num(stage.result, 'shuffled_control.chance'))} for always guessing the majority class.`,
    lineFigure({
      x: hooks, xLabel: 'layer', yLabel: 'accuracy', yRange: [0, 1.02],
      series: [
        { name: 'test accuracy', y: series('test_acc') },
        { name: 'random-direction baseline', y: series('baseline_acc'), dashed: true },
        { name: 'majority class', y: series('majority_acc'), dashed: true },
      ],
    }),
  ];
}

interface AttributeRow {
  readonly attribute: string;
  readonly latent: number | null;
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
}

/** The next-word table of the SAE's attributes.json ({"next_word": {matches}, "state": {matches}}); none when missing or malformed. */
const isAttributeRow = (m: unknown): m is AttributeRow => typeof at(m, 'attribute') === 'string' && typeof at(m, 'f1') === 'number';

function readAttributes(saeDir: string): AttributeRow[] {
  try {
    const doc = JSON.parse(fs.readFileSync(path.join(saeDir, 'attributes.json'), 'utf8')) as unknown;
    return rows(doc, 'next_word.matches')
      .filter(isAttributeRow)
      .filter((m) => at(m, 'positives') !== 0);
  } catch {
    return [];
  }
}

/** The SAE's metrics, then `probing` (the sparse-probe tables), then the all-token attribute table. */
function saeSection(stage: StageRecord | undefined, saeDir: string, probing: readonly Block[]): Block[] {
  if (!stage) return ['Not run.'];
  const r = stage.result;
  const attributes = readAttributes(saeDir).sort((a, b) => b.f1 - a.f1);
  const good = attributes.filter((a) => a.f1 >= 0.8).length;
  return [
    `A TopK SAE with ${num(r, 'd_sae') ?? '–'} latents (k = ${num(r, 'k') ?? '–'}) on ${shortHook(str(r, 'hook'))}, trained on ${num(r, 'tokens') ?? '–'} tokens. On held-out stories it explains ${percent(num(r, 'metrics.explained_variance'))} of the variance (mean-centred) with ${percent(num(r, 'metrics.dead_fraction'), 2)} dead latents; spliced into the model in place of the layer's output it recovers ${percent(num(r, 'metrics.ce_loss_score'))} of the next-token loss that zero-ablating it costs (CE-loss score).`,
    ...probing,
    attributes.length === 0
      ? 'No attribute table was written.'
      : `A stricter test scores every held-out token, so a latent that also fires elsewhere loses precision: ${good} of ${attributes.length} known attributes have a latent whose firing predicts them with F1 ≥ 0.8, where an attribute holds at a token when the story already has it and the next word expresses it — where the model must use it (attributes that never hold there are left out; the dashboard also scores the story state):`,
    ...(attributes.length === 0 ? [] : [table({
      columns: ['attribute', { label: 'latent', align: 'right' }, 'F1', 'precision', 'recall'],
      rows: attributes.map((a) => [a.attribute, a.latent ?? '–', a.f1, a.precision, a.recall]),
      maxRows: 25,
    })]),
  ];
}

/** A sparse-probe stage's matches, best first. */
/**
 * The demo's answer in a few lines, for the terminal: probe accuracy, the SAE's held-out metrics,
 * how many probe-set values a single latent picks out, and steering at the knee against its control.
 */
export function headlineRows(state: DemoState): [string, string][] {
  const r = (name: StageName): unknown => state.stages[name]?.result;
  const probe = r('train-probe');
  const sae = r('train-sae');
  const steer = r('steer');
  const sparse = (['sae-probe-mood', 'sae-probe-species'] as const).flatMap((n) => sparseMatches(r(n)));
  const knee = num(steer, 'knee.coeff');
  const controlAtKnee = knee === null ? undefined : rows(steer, 'control.results').find((c) => num(c, 'coeff') === knee);
  return [
    ['probe', `best layer ${shortHook(str(probe, 'best.hook'))}, test accuracy ${fixed(num(probe, 'best.test_acc'))} (shuffled labels ${fixed(num(probe, 'shuffled_control.test_acc'))})`],
    ['SAE', `explained variance ${fixed(num(sae, 'metrics.explained_variance'))}, L0 ${fixed(num(sae, 'metrics.l0'), 1)}, dead ${percent(num(sae, 'metrics.dead_fraction'), 2)}, CE-loss score ${fixed(num(sae, 'metrics.ce_loss_score'), 4)}`],
    ['SAE 1-sparse probing', `${sparse.filter((m) => m.f1 >= 0.8).length} of ${sparse.length} mood/species values have a latent with F1 ≥ 0.8`],
    ['steering', knee === null
      ? `baseline happy endings ${percent(num(steer, 'baseline.success_rate'), 0)}; no coefficient within the ΔCE budget`
      : `happy endings ${percent(num(steer, 'baseline.success_rate'), 0)} → ${percent(num(steer, 'knee.success_rate'), 0)} at the knee ${fixed(knee, 2)}× (neutral ΔCE ${fixed(num(steer, 'knee.neutral_ce_delta'))} nats)`],
    ['steering control', controlAtKnee === undefined ? '–' : `random vector of the same norm at ${fixed(knee, 2)}×: ${percent(num(controlAtKnee, 'success_rate'), 0)} happy endings`],
  ];
}

function sparseMatches(result: unknown): AttributeRow[] {
  return rows(result, 'matches').filter(isAttributeRow).sort((a, b) => b.f1 - a.f1);
}

function sparseProbeSection(stages: readonly (StageRecord | undefined)[]): Block[] {
  const sets = stages.filter((s): s is StageRecord => s !== undefined);
  if (sets.length === 0) return [];
  const all = sets.flatMap((s) => sparseMatches(s.result).map((m) => ({ ...m, set: path.basename(str(s.result, 'capture') ?? '') })));
  return [
    `The same SAE on the probe sets (1-sparse probing, as Gao et al. 2024 and SAEBench evaluate SAEs): among the positions just before a word that names the value, the single latent whose firing best picks out each value. ${all.filter((m) => m.f1 >= 0.8).length} of ${all.length} values have a latent with F1 ≥ 0.8.`,
    table({
      columns: ['probe set', 'value', { label: 'latent', align: 'right' }, 'F1', 'precision', 'recall'],
      rows: all.sort((a, b) => b.f1 - a.f1).map((m) => [m.set, m.attribute.replace(/^label=/, ''), m.latent ?? '–', m.f1, m.precision, m.recall]),
    }),
  ];
}

function steerSection(stage: StageRecord | undefined): Block[] {
  if (!stage) return ['Not run.'];
  const r = stage.result;
  const results = rows(r, 'results');
  const control = rows(r, 'control.results');
  const x = results.map((c) => num(c, 'coeff') ?? Number.NaN);
  const blocks: Block[] = [
    `The mean difference of activations between happy and sad versions of the same story, added at ${shortHook(str(r, 'hooks.0'))} in units of the mean residual norm while the model continues sad openings. A continuation counts as a success when the TinyWorld scorer reads its ending as happy; the cost is the change in cross-entropy on neutral text.`,
    lineFigure({
      x, xLabel: 'coefficient (× mean ‖h‖)', yLabel: 'fraction / nats',
      series: [
        { name: 'happy endings (vector)', y: results.map((c) => num(c, 'success_rate') ?? Number.NaN) },
        ...(control.length === results.length ? [{ name: 'happy endings (random vector, same norm)', y: control.map((c) => num(c, 'success_rate') ?? Number.NaN), dashed: true }] : []),
        { name: 'neutral ΔCE (nats)', y: results.map((c) => num(c, 'neutral_ce_delta') ?? Number.NaN) },
      ],
    }),
  ];
  const knee = num(r, 'knee.coeff');
  const controlAtKnee = knee === null ? null : control.find((c) => num(c, 'coeff') === knee);
  if (knee !== null) {
    blocks.push(`Knee (${str(r, 'knee.rule') ?? ''}): ${fixed(knee, 2)}×, ${percent(num(r, 'knee.success_rate'), 0)} happy endings against ${percent(num(r, 'baseline.success_rate'), 0)} without steering${controlAtKnee ? ` and ${percent(num(controlAtKnee, 'success_rate'), 0)} with a random vector of the same norm` : ''}.`);
  }
  return blocks;
}

