/**
 * What a steering run leaves behind: `steer.json` (every generation and metric, per arm and
 * coefficient), `manifest.json` (model, hash, vectors, datasets, seed, versions, command), the
 * `--json` summary, a text summary, and the HTML report.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { writeRunManifest } from '../src/util/run-manifest.js';
import type { HookedTransformer } from '../src/runtime/model.js';
import { behaviorName } from './behavior.js';
import type { BehaviorSpec } from './behavior.js';
import { coefficientName, positionsName } from './interventions.js';
import type { SteerPositions } from './interventions.js';
import { probeVector } from './external.js';
import type { ProbeChoice } from './external.js';
import { cosine, logitLens, nearestRows } from './lens.js';
import type { Sae } from '../sae/index.js';
import type { LogitLens } from './lens.js';
import { writeSteerReport } from './report.js';
import { resultRow } from './steer.js';
import type { ArmResult, PromptOutcome, SteerResult } from './steer.js';
import { vectorNorm } from './vector.js';
import type { SteeringVector } from './vector.js';

export const STEER_FORMAT = 'interp.steer-run';
export const STEER_FORMAT_VERSION = 1;

export interface SteerOutputOptions {
  readonly out: string;
  readonly model: HookedTransformer;
  readonly modelId: string;
  readonly vectors: readonly SteeringVector[];
  readonly result: SteerResult;
  readonly mode: 'add' | 'ablate' | 'ablate-all' | 'clamp';
  /** Probability above which monitor mode flags a token, or null without --monitor. */
  readonly monitorThreshold: number | null;
  /** What vector cards compare each vector with. */
  readonly compare: { readonly probe: ProbeChoice | null; readonly sae: Sae | null };
  readonly positions: SteerPositions;
  readonly behavior: BehaviorSpec | null;
  /** Mean ‖h‖ per hook that Nx-norm coefficients referred to. */
  readonly norms: ReadonlyMap<string, number>;
  readonly prompts: { readonly source: string; readonly sha256: string };
  readonly neutral: { readonly source: string; readonly sha256: string } | null;
  readonly ceBudget: number;
  readonly generation: Readonly<Record<string, number | null>>;
  readonly command: readonly string[];
  readonly report: boolean;
  readonly reportsDir?: string;
}

/** A vector's report card. */
export interface VectorCard {
  readonly hook: string;
  readonly location: string | null;
  readonly method: string;
  readonly norm: number;
  readonly hookMeanNorm: number | null;
  readonly lens: LogitLens;
  /** Cosine to each other vector of the run (other layers). */
  readonly cosines: readonly { readonly hook: string; readonly cosine: number }[];
  /** Cosine to the compared probe's direction (null without one, or at another hook). */
  readonly probeCosine: { readonly probe: string; readonly cosine: number } | null;
  /** The SAE decoder rows most aligned with the vector (empty without an SAE of this width). */
  readonly nearestLatents: readonly { readonly index: number; readonly cosine: number }[];
}

export interface SteerOutputs {
  readonly summary: Record<string, unknown>;
  readonly text: string;
  readonly report: string | null;
}

function probeCosine(o: SteerOutputOptions, v: SteeringVector): VectorCard['probeCosine'] {
  const p = o.compare.probe;
  if (!p || p.probe.d !== v.vector.length) return null;
  return { probe: `${p.location} (${p.label}) at ${p.probe.json.hook}`, cosine: cosine(v.vector, probeVector(p)) };
}

function armJson(a: ArmResult): Record<string, unknown> {
  return {
    label: a.label, hooks: a.hooks, results: a.results.map(resultRow),
    knee: a.knee ? { ...resultRow(a.results[a.knee.index]), rule: a.knee.rule } : null,
    frontier: a.frontier.map((i) => a.results[i].coeff.value),
    steerability: a.steerability ? { mean_slope: a.steerability.mean, wrong_way_fraction: a.steerability.wrongWay } : null,
  };
}

function promptJson(o: PromptOutcome): Record<string, unknown> {
  return { ids: o.generated, text: o.text, behavior: o.behavior, success: o.success, kl: Array.from(o.kl), monitor: o.monitor ? Array.from(o.monitor) : null };
}

export async function writeSteerOutputs(o: SteerOutputOptions): Promise<SteerOutputs> {
  mkdirSync(o.out, { recursive: true });
  const r = o.result;
  const best = r.arms[r.best];
  const cards: VectorCard[] = [];
  for (const v of o.vectors) {
    cards.push({
      hook: v.hook, location: v.location, method: v.json?.method ?? 'file', norm: vectorNorm(v.vector), hookMeanNorm: o.norms.get(v.hook) ?? v.json?.hook_mean_norm ?? null,
      lens: await logitLens(o.model, v.vector),
      cosines: o.vectors.filter((w) => w !== v).map((w) => ({ hook: w.hook, cosine: cosine(v.vector, w.vector) })),
      probeCosine: probeCosine(o, v),
      nearestLatents: o.compare.sae && o.compare.sae.cfg.d_in === v.vector.length ? nearestRows(v.vector, o.compare.sae.weights.W_dec, o.compare.sae.cfg.d_sae) : [],
    });
  }
  const manifestFields = {
    format: STEER_FORMAT, format_version: STEER_FORMAT_VERSION,
    model: { id: o.modelId, hash: o.model.source.hash, weights: 'raw' }, policy: o.model.policy,
    vectors: o.vectors.map((v) => ({ hook: v.hook, location: v.location ? path.resolve(v.location) : null, method: v.json?.method ?? 'file', norm: vectorNorm(v.vector) })),
    mode: o.mode, positions: positionsName(o.positions), behavior: o.behavior ? behaviorName(o.behavior) : null,
    hook_mean_norms: Object.fromEntries(o.norms), hook_mean_norm_over: o.neutral ? 'neutral text, every real token but BOS' : 'prompts, every real token but BOS',
    prompts: o.prompts, neutral: o.neutral, generation: o.generation, ce_budget: o.ceBudget,
    command: o.command,
  };
  const summary: Record<string, unknown> = {
    vector: best ? (o.vectors[r.best]?.location ? path.resolve(o.vectors[r.best].location as string) : null) : null,
    hooks: best?.hooks ?? [],
    results: best ? best.results.map(resultRow) : [],
    knee: best?.knee ? { coeff: best.knee.coeff, units: best.results[best.knee.index].coeff.units === 'norm' ? 'x-norm' : 'raw', rule: best.knee.rule, success_rate: best.results[best.knee.index].successRate, neutral_ce_delta: best.results[best.knee.index].neutral?.ceDelta ?? null } : null,
    baseline: { behavior: r.baseline.behavior, success_rate: r.baseline.successRate, neutral_ce: r.baseline.neutralCe },
    steerability: best?.steerability ? { mean_slope: best.steerability.mean, wrong_way_fraction: best.steerability.wrongWay } : null,
    layers: r.arms.map(armJson),
    control: r.control ? armJson(r.control) : null,
    monitor: o.monitorThreshold !== null ? monitorSummary(r, o.monitorThreshold) : null,
    out: path.resolve(o.out),
  };
  const manifest = writeRunManifest(o.out, manifestFields);
  const full = {
    ...manifest, summary,
    baseline: r.baseline.prompts.map(promptJson),
    arms: [...r.arms, ...(r.control ? [r.control] : [])].map((a) => ({ label: a.label, hooks: a.hooks, results: a.results.map((c) => ({ ...resultRow(c), prompts: c.prompts.map(promptJson) })) })),
  };
  writeFileAtomic(path.join(o.out, 'steer.json'), [Buffer.from(`${JSON.stringify(full)}\n`)]);
  const report = o.report ? await writeSteerReport({ run: path.basename(path.resolve(o.out)), manifest, result: r, cards, tokenizer: o.model.source.tokenizer, ceBudget: o.ceBudget, behavior: o.behavior, monitorThreshold: o.monitorThreshold }, o.reportsDir) : null;
  summary.report = report;
  return { summary, text: textSummary(r, report), report };
}

/** Monitor mode: flagged tokens (score > threshold) per condition, baseline and the best arm's knee (or last coefficient). */
function monitorSummary(r: SteerResult, threshold: number): Record<string, unknown> {
  const flagged = (ps: readonly PromptOutcome[]) => ps.map((p) => Array.from(p.monitor ?? []).flatMap((x, i) => (x > threshold ? [i] : [])));
  const meanScore = (ps: readonly PromptOutcome[]) => {
    const xs = ps.flatMap((p) => Array.from(p.monitor ?? []));
    return xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : null;
  };
  const best = r.arms[r.best];
  const steered = best ? best.results[best.knee?.index ?? best.results.length - 1] : null;
  return {
    threshold,
    baseline: { mean_score: meanScore(r.baseline.prompts), flagged: flagged(r.baseline.prompts) },
    steered: steered ? { coeff: steered.coeff.value, mean_score: meanScore(steered.prompts), flagged: flagged(steered.prompts) } : null,
  };
}

function textSummary(r: SteerResult, report: string | null): string {
  const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(0)}%`);
  const num = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(3));
  const lines = [`baseline: success ${pct(r.baseline.successRate)}, behaviour ${num(r.baseline.behavior)}`];
  for (const a of [...r.arms, ...(r.control ? [r.control] : [])]) {
    lines.push(`${a.label}:`);
    for (const c of a.results) lines.push(`  coeff ${coefficientName(c.coeff).padEnd(10)} success ${pct(c.successRate).padStart(4)}  behaviour ${num(c.behavior)}  KL ${num(c.kl)}  neutral ΔCE ${num(c.neutral?.ceDelta)}`);
    lines.push(`  knee: ${a.knee ? coefficientName(a.results[a.knee.index].coeff) : 'none within budget'}${a.steerability ? `; wrong-way prompts ${pct(a.steerability.wrongWay)}` : ''}`);
  }
  if (report) lines.push(`report: ${report}`);
  return `${lines.join('\n')}\n`;
}
