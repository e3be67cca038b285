/**
 * The steering report: what was run (manifest card), the sweep table, the effect-vs-cost
 * frontier with its knee, the layer × coefficient heatmap (several layers), baseline and steered
 * text per prompt side by side (baseline tokens shaded by KL(base ‖ steered) at the position
 * that predicts them, steered tokens that differ from the baseline marked), per-prompt
 * steerability, and each vector's card (norm, logit lens, cosines). Never runs generation: it
 * renders a finished SteerResult (the logit lens is computed by the caller).
 */
import { callout, columns, details, heatmapFigure, histogramFigure, lineFigure, ReportPage, table, tokenText } from '../src/report/index.js';
import type { Block, LineSeries } from '../src/report/index.js';
import { continuationPieces } from '../src/model/tokenizer.js';
import type { Tokenizer } from '../src/model/types.js';
import { behaviorName } from './behavior.js';
import type { BehaviorSpec } from './behavior.js';
import { coefficientName } from './interventions.js';
import type { VectorCard } from './output.js';
import type { ArmResult, SteerResult } from './steer.js';

/** Prompts shown side by side (the rest are in steer.json). */
const MAX_PROMPTS_SHOWN = 24;

export interface SteerReportInput {
  readonly run: string;
  readonly manifest: object;
  readonly result: SteerResult;
  readonly cards: readonly VectorCard[];
  /** The model's tokenizer, to show prompts and continuations as text (ids without one). */
  readonly tokenizer: Tokenizer | null;
  readonly ceBudget: number;
  readonly behavior: BehaviorSpec | null;
  /** Monitor mode's flag threshold, or null when no monitor probe ran. */
  readonly monitorThreshold: number | null;
}

/** Writes the report and returns its file path. */
export async function writeSteerReport(input: SteerReportInput, reportsDir?: string): Promise<string> {
  const r = input.result;
  const best = r.arms[r.best];
  const page = new ReportPage({ title: `Steering ${input.run}`, kind: 'steering', subtitle: `${r.arms.length} arm(s) · ${r.baseline.prompts.length} prompts · ${input.behavior ? behaviorName(input.behavior) : 'no behaviour score'}` });
  page.manifestCard(input.manifest);
  page.section('Sweep', [sweepIntro(input), sweepTable(r)]);
  if (best && best.results.length > 1) page.section('Effect vs cost', frontierBlocks(r, input.ceBudget));
  if (r.arms.length > 1 && r.arms[0].results.length > 1) page.section('Layer × coefficient', [heatmap(r)]);
  if (best) page.section(`Baseline vs steered (${best.label})`, sideBySide(input, best));
  if (best?.steerability) {
    page.section('Per-prompt steerability', [
      `Least-squares slope of each prompt's behaviour against the coefficient. ${(best.steerability.wrongWay * 100).toFixed(0)}% of prompts move the wrong way (slope < 0); mean slope ${best.steerability.mean.toPrecision(3)}.`,
      histogramFigure({ xLabel: 'slope (behaviour per unit coefficient)', yLabel: 'prompts', series: [{ name: best.label, values: [...best.steerability.slopes] }], bins: 20 }),
    ]);
  }
  if (input.monitorThreshold !== null) page.section('Monitor', monitorBlocks(input, best));
  page.section('Vector cards', input.cards.map(vectorCard));
  const written = await page.write({ name: `steering/${input.run}`, reportsDir });
  return written.file;
}

function sweepIntro(input: SteerReportInput): Block {
  return `Baseline: ${pct(input.result.baseline.successRate)} success, behaviour ${num(input.result.baseline.behavior)}, neutral CE ${num(input.result.baseline.neutralCe)} nats. ` +
    `KL is KL(base ‖ steered) per token, teacher-forced on the baseline continuation; neutral ΔCE is the change in next-token cross-entropy on neutral text with steering at every position. ` +
    `Knee: the highest success rate with neutral ΔCE ≤ ${input.ceBudget} nats (ties: higher behaviour, then smaller |coefficient|).`;
}

function sweepTable(r: SteerResult) {
  const arms = [...r.arms, ...(r.control ? [r.control] : [])];
  const rows = arms.flatMap((a) => a.results.map((c, i) => [
    a === r.control ? `${a.label} (control)` : a.label, coefficientName(c.coeff), pct(c.successRate), num(c.behavior), num(c.kl), num(c.neutral?.ceDelta), a.knee?.index === i ? 'knee' : '',
  ]));
  return table({ columns: ['arm', 'coefficient', { label: 'success', align: 'right' }, { label: 'behaviour', align: 'right' }, { label: 'KL', align: 'right', help: 'mean per-token KL(base ‖ steered) on the baseline continuation' }, { label: 'neutral ΔCE', align: 'right', help: 'nats' }, ''], rows });
}

function effect(a: ArmResult): number[] {
  return a.results.map((c) => c.successRate ?? c.behavior ?? 0);
}

function frontierBlocks(r: SteerResult, budget: number): Block[] {
  const arms = [...r.arms, ...(r.control ? [r.control] : [])];
  const series: LineSeries[] = arms.map((a) => ({
    name: a === r.control ? `${a.label} (control)` : a.label,
    x: a.results.map((c) => c.neutral?.ceDelta ?? 0), y: effect(a), dashed: a === r.control,
    hover: a.results.map((c, i) => `coeff ${coefficientName(c.coeff)}${a.knee?.index === i ? ' (knee)' : ''}`),
  }));
  const vsCoeff: LineSeries[] = arms.map((a) => ({ name: a === r.control ? `${a.label} (control)` : a.label, x: a.results.map((c) => c.coeff.value), y: effect(a), dashed: a === r.control }));
  const best = r.arms[r.best];
  const knee = best.knee ? best.results[best.knee.index] : null;
  return [
    knee ? callout([`Knee of ${best.label}: coefficient ${coefficientName(knee.coeff)} — success ${pct(knee.successRate)}, neutral ΔCE ${num(knee.neutral?.ceDelta)} nats, KL ${num(knee.kl)}.`]) : callout([`No coefficient of ${best.label} stays within the ΔCE budget of ${budget} nats.`], { tone: 'warning' }),
    columns([
      lineFigure({ title: 'Effect vs capability cost', xLabel: 'neutral ΔCE (nats)', yLabel: 'success rate', series, caption: `Each point is one coefficient; up and to the left is better. Budget: ${budget} nats.` }),
      lineFigure({ title: 'Effect vs coefficient', xLabel: 'coefficient', yLabel: 'success rate', series: vsCoeff }),
    ]),
  ];
}

function heatmap(r: SteerResult) {
  return heatmapFigure({
    z: r.arms.map((a) => effect(a)), xLabels: r.arms[0].results.map((c) => coefficientName(c.coeff)), yLabels: r.arms.map((a) => a.label),
    zLabel: 'success', xLabel: 'coefficient', yLabel: 'arm (hook)', scale: 'viridis',
    caption: 'Success rate per hook and coefficient (rows: vectors read and added at each layer).',
  });
}

/**
 * Display text of each generated token: what it adds after the prompt and the tokens before it
 * (continuationPieces), so word-start spaces show, SentencePiece's first one included.
 */
function tokenStrings(tokenizer: Tokenizer | null, prompt: readonly number[], ids: readonly number[]): string[] {
  return tokenizer ? continuationPieces(tokenizer, prompt, ids) : ids.map(String);
}

function sideBySide(input: SteerReportInput, arm: ArmResult): Block[] {
  const idx = arm.knee?.index ?? arm.results.length - 1;
  const res = arm.results[idx];
  const base = input.result.baseline.prompts;
  const klMax = Math.max(1e-6, ...res.prompts.flatMap((p) => Array.from(p.kl)));
  const tok = input.tokenizer;
  const blocks: Block[] = [`Coefficient ${coefficientName(res.coeff)}${arm.knee ? ' (the knee)' : ''}. Left: baseline, each token shaded by KL(base ‖ steered) at the position that predicts it. Right: steered, tokens that differ from the baseline at the same index marked. Hover a token for details.`];
  base.slice(0, MAX_PROMPTS_SHOWN).forEach((b, k) => {
    const s = res.prompts[k];
    const promptIds = input.result.prompts[k];
    const bTok = tokenStrings(input.tokenizer, promptIds, b.generated);
    const sTok = tokenStrings(input.tokenizer, promptIds, s.generated);
    const differs = s.generated.map((id, i) => (b.generated[i] === id ? 0 : 1));
    const title = tok ? tok.decode([...promptIds]) : promptIds.join(' ');
    blocks.push(details(`${k + 1}. ${title.length > 120 ? `…${title.slice(-119)}` : title}  —  baseline ${verdict(b.success)} · steered ${verdict(s.success)}`, [
      columns([
        tokenText({ tokens: bTok, values: s.kl, scale: 'blues', range: [0, klMax], valueLabel: 'KL(base ‖ steered)', hover: bTok.map((_, i) => `steered: ${sTok[i] ?? '(ended)'}`) }),
        tokenText({ tokens: sTok, values: differs, scale: 'blues', range: [0, 1.5], valueLabel: 'differs from baseline', hover: sTok.map((_, i) => `baseline: ${bTok[i] ?? '(ended)'}`), legend: false }),
      ], { titles: [`baseline (behaviour ${num(b.behavior)})`, `steered (behaviour ${num(s.behavior)})`] }),
    ], { open: k < 3 }));
  });
  return blocks;
}

/** Per generated token probe scores, baseline and steered, with tokens above the threshold outlined by their shading. */
function monitorBlocks(input: SteerReportInput, arm: ArmResult | undefined): Block[] {
  const threshold = input.monitorThreshold as number;
  const base = input.result.baseline.prompts;
  const steered = arm ? arm.results[arm.knee?.index ?? arm.results.length - 1] : null;
  const flaggedShare = (ps: readonly { monitor: Float32Array | null }[]) => {
    const xs = ps.flatMap((p) => Array.from(p.monitor ?? []));
    return xs.length ? xs.filter((x) => x > threshold).length / xs.length : 0;
  };
  const blocks: Block[] = [`The monitor probe's probability per generated token (read with the same intervention as the generation). Tokens above ${threshold} are flagged: ${pct(flaggedShare(base))} of baseline tokens${steered ? `, ${pct(flaggedShare(steered.prompts))} of steered tokens (coefficient ${coefficientName(steered.coeff)})` : ''}.`];
  base.slice(0, MAX_PROMPTS_SHOWN).forEach((b, k) => {
    const promptIds = input.result.prompts[k];
    const row = (o: typeof b) => {
      const toks = tokenStrings(input.tokenizer, promptIds, o.generated);
      return tokenText({ tokens: toks, values: o.monitor ?? new Float32Array(toks.length), scale: 'blues', range: [0, 1], valueLabel: 'probe probability', hover: Array.from(o.monitor ?? []).map((x) => (x > threshold ? 'FLAGGED' : '')) });
    };
    const s = steered?.prompts[k];
    blocks.push(details(`prompt ${k + 1}`, s ? [columns([row(b), row(s)], { titles: ['baseline', 'steered'] })] : [row(b)], { open: k < 2 }));
  });
  return blocks;
}

function vectorCard(c: VectorCard): Block {
  const lens = (xs: VectorCard['lens']['top']) => xs.map((t) => `${t.token} (${t.logit.toFixed(2)})`).join(', ');
  return details(`${c.hook} — ${c.method}, ‖v‖ = ${num(c.norm)}`, [
    table({
      columns: ['fact', 'value'],
      rows: [
        ['hook', c.hook], ['source', c.location ?? '(in memory)'], ['method', c.method], ['norm ‖v‖', c.norm],
        ['mean ‖h‖ at the hook', c.hookMeanNorm ?? '-'], ['‖v‖ / mean ‖h‖', c.hookMeanNorm ? c.norm / c.hookMeanNorm : '-'],
        ['logit lens: top +', lens(c.lens.top)], ['logit lens: top −', lens(c.lens.bottom)],
        ...c.cosines.map((x) => [`cosine to ${x.hook} vector`, x.cosine] as [string, number]),
        c.probeCosine ? [`cosine to probe ${c.probeCosine.probe}`, c.probeCosine.cosine] : ['cosine to a probe', 'none compared (pass --probe DIR)'],
        c.nearestLatents.length ? ['nearest SAE latents (cosine)', c.nearestLatents.map((l) => `#${l.index} (${l.cosine.toFixed(3)})`).join(', ')] : ['nearest SAE latents', 'none compared (pass --sae DIR)'],
      ],
    }),
  ], { open: true });
}

function pct(x: number | null): string {
  return x === null ? '-' : `${(x * 100).toFixed(0)}%`;
}

function num(x: number | null | undefined): string {
  return x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(3);
}

function verdict(success: boolean | null): string {
  return success === null ? '' : success ? '✓' : '✗';
}
