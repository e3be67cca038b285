/**
 * The steering comparison: baseline and steered continuations of the same prompts from the same
 * seeds, the behaviour each shows, what steering costs (per-token KL on the baseline
 * continuation, ΔCE and KL on neutral text), and for a sweep the effect-vs-cost curve, its knee
 * and per-prompt steerability. Several arms (e.g. one vector per layer) give the layer ×
 * coefficient grid; a control arm (a random vector of the same norm) shows what an effect
 * without the concept's direction looks like.
 *
 * Seeds: prompt k (0-based, across batches) samples with seed + k in the baseline and in every
 * steered run, so differences come from steering, not from the sampler.
 */
import { generate } from '../src/runtime/generate.js';
import type { GenerateOptions, GeneratedSequence } from '../src/runtime/generate.js';
import type { Intervention } from '../src/runtime/interventions.js';
import type { HookedTransformer } from '../src/runtime/model.js';
import { probeTokenScores, scoreContinuations } from './behavior.js';
import type { BehaviorSpec, Continuation, TokenProbe } from './behavior.js';
import { coefficientName, compileIntervention } from './interventions.js';
import type { Coefficient, SteeringIntervention } from './interventions.js';
import { continuationKl, neutralCost } from './metrics.js';
import type { NeutralCost } from './metrics.js';
import { findKnee, frontier, steerability } from './sweep.js';
import type { Knee, Steerability } from './sweep.js';
import type { Progress } from '../src/util/progress.js';

/** Reports work done so far, of total (coefficient runs). */
export type { Progress };

/** One way of steering, evaluated at every coefficient of the sweep. */
export interface SteerArm {
  /** Shown in reports, e.g. the hook. */
  readonly label: string;
  readonly hooks: readonly string[];
  /** The intervention at coefficient c (its positions are the run's `--positions`). */
  readonly make: (c: Coefficient) => SteeringIntervention;
  /** Whether coefficient 0 means "no intervention" (true for addition; not for clamps). */
  readonly zeroIsBaseline: boolean;
  /** The control of this arm (a random vector of the same norm at the same hooks), or null. */
  readonly control: (() => SteerArm) | null;
}

export interface SteerConfig {
  readonly model: HookedTransformer;
  /** Prompt token ids (BOS included per the TokenizerPolicy). */
  readonly prompts: readonly (readonly number[])[];
  /** Neutral text token ids for the capability cost; empty skips it (ΔCE then NaN). */
  readonly neutral: readonly (readonly number[])[];
  readonly arms: readonly SteerArm[];
  /** Evaluate the best arm's control (a random vector of the same norm at the same hooks) like the arms. */
  readonly control: boolean;
  readonly coefficients: readonly Coefficient[];
  readonly generation: Omit<GenerateOptions, 'interventions' | 'seeds'>;
  readonly behavior: BehaviorSpec | null;
  /** Monitor mode: a probe's per-token score on generated tokens, flagged above `threshold`. */
  readonly monitor: { readonly probe: TokenProbe; readonly threshold: number } | null;
  /** Neutral ΔCE budget of the knee, nats. */
  readonly ceBudget: number;
  readonly batchSize: number;
  readonly progress?: Progress;
}

/** One prompt under one condition. */
export interface PromptOutcome {
  readonly generated: readonly number[];
  readonly text: string | null;
  readonly behavior: number | null;
  readonly success: boolean | null;
  /** KL(base ‖ steered) at each generated token of the *baseline* continuation (zeros for the baseline). */
  readonly kl: Float32Array;
  /** Monitor probe score per generated token of this continuation, or null. */
  readonly monitor: Float32Array | null;
}

export interface CoefficientResult {
  readonly coeff: Coefficient;
  readonly behavior: number | null;
  readonly successRate: number | null;
  /** Mean per-token KL(base ‖ steered) on the baseline continuations. */
  readonly kl: number;
  readonly neutral: NeutralCost | null;
  readonly prompts: readonly PromptOutcome[];
}

export interface ArmResult {
  readonly label: string;
  readonly hooks: readonly string[];
  readonly results: readonly CoefficientResult[];
  readonly knee: Knee | null;
  /** Indices of the effect-vs-cost frontier. */
  readonly frontier: readonly number[];
  readonly steerability: Steerability | null;
}

export interface SteerResult {
  /** The prompts' token ids, as given. */
  readonly prompts: readonly (readonly number[])[];
  readonly baseline: { readonly prompts: readonly PromptOutcome[]; readonly behavior: number | null; readonly successRate: number | null; readonly neutralCe: number | null };
  readonly arms: readonly ArmResult[];
  readonly control: ArmResult | null;
  /** Index of the arm whose knee has the highest success rate (the "best layer"). */
  readonly best: number;
}

/** Runs the whole comparison. */
export async function runSteer(cfg: SteerConfig): Promise<SteerResult> {
  const steps = (cfg.arms.length + (cfg.control ? 1 : 0)) * cfg.coefficients.length + 1;
  let done = 0;
  const tick = () => cfg.progress?.(++done, steps);
  const baseSeqs = await generateAll(cfg, null);
  const baseline = await outcomes(cfg, baseSeqs, null, null);
  tick();
  const neutralBase = cfg.neutral.length ? await neutralCost(cfg.model, cfg.neutral, [], cfg.batchSize) : null;
  const arms: ArmResult[] = [];
  for (const arm of cfg.arms) arms.push(await runArm(cfg, arm, baseSeqs, baseline, tick));
  let best = 0;
  const kneeRate = (r: ArmResult) => (r.knee ? r.results[r.knee.index].successRate ?? -1 : -2);
  arms.forEach((a, i) => { if (kneeRate(a) > kneeRate(arms[best])) best = i; });
  const makeControl = cfg.control && cfg.arms.length ? cfg.arms[best].control : null;
  const control = makeControl ? await runArm(cfg, makeControl(), baseSeqs, baseline, tick) : null;
  return {
    prompts: cfg.prompts,
    baseline: { prompts: baseline, behavior: mean(baseline.map((o) => o.behavior)), successRate: rate(baseline), neutralCe: neutralBase?.baseCe ?? null },
    arms,
    control,
    best,
  };
}

async function runArm(cfg: SteerConfig, arm: SteerArm, baseSeqs: readonly GeneratedSequence[], baseline: readonly PromptOutcome[], tick: () => void): Promise<ArmResult> {
  const results: CoefficientResult[] = [];
  for (const c of cfg.coefficients) {
    const iv = arm.make(c);
    const seqs = await generateAll(cfg, iv);
    const klRes = await continuationKl(cfg.model, cfg.prompts, baseSeqs.map((s) => s.generated), (lengths) => compileIntervention(iv, lengths), cfg.batchSize);
    const prompts = await outcomes(cfg, seqs, iv, klRes.perToken);
    // Capability cost: steering at every position of the neutral text.
    const neutral = cfg.neutral.length ? await neutralCost(cfg.model, cfg.neutral, compileIntervention({ ...iv, positions: { kind: 'all' } }, cfg.neutral.map((t) => t.length)), cfg.batchSize) : null;
    results.push({ coeff: c, behavior: mean(prompts.map((o) => o.behavior)), successRate: rate(prompts), kl: klRes.mean, neutral, prompts });
    tick();
  }
  const points = results.map((r) => ({ coeff: r.coeff.value, successRate: r.successRate, behavior: r.behavior, ceDelta: r.neutral?.ceDelta ?? Number.NaN }));
  return { label: arm.label, hooks: arm.hooks, results, knee: findKnee(points, cfg.ceBudget), frontier: frontier(points), steerability: armSteerability(cfg, arm, results, baseline) };
}

/** Per-prompt slopes over the swept coefficients, with the baseline as coefficient 0 for additive arms. */
function armSteerability(cfg: SteerConfig, arm: SteerArm, results: readonly CoefficientResult[], baseline: readonly PromptOutcome[]): Steerability | null {
  if (cfg.behavior === null) return null;
  const xs = results.map((r) => r.coeff.value);
  const ys = results.map((r) => r.prompts.map((o) => o.behavior ?? 0));
  if (arm.zeroIsBaseline && !xs.includes(0)) {
    xs.unshift(0);
    ys.unshift(baseline.map((o) => o.behavior ?? 0));
  }
  return xs.length >= 2 ? steerability(xs, ys) : null;
}

/** Generates every prompt (in batches), prompt k with seed + k. */
async function generateAll(cfg: SteerConfig, iv: SteeringIntervention | null): Promise<GeneratedSequence[]> {
  const out: GeneratedSequence[] = [];
  const seed = cfg.generation.seed ?? 0;
  for (let start = 0; start < cfg.prompts.length; start += cfg.batchSize) {
    const chunk = cfg.prompts.slice(start, start + cfg.batchSize);
    const interventions: Intervention[] = iv ? compileIntervention(iv, chunk.map((p) => p.length)) : [];
    const res = await generate(cfg.model, chunk, { ...cfg.generation, seeds: chunk.map((_, i) => seed + start + i), interventions });
    out.push(...res.sequences);
  }
  return out;
}

async function outcomes(cfg: SteerConfig, seqs: readonly GeneratedSequence[], iv: SteeringIntervention | null, kl: readonly Float32Array[] | null): Promise<PromptOutcome[]> {
  const items: Continuation[] = seqs.map((s) => ({ prompt: s.prompt, generated: s.generated, text: s.text }));
  const scores = cfg.behavior ? await scoreContinuations(cfg.behavior, cfg.model, items, cfg.batchSize) : null;
  const monitor = cfg.monitor
    ? await probeTokenScores(cfg.model, cfg.monitor.probe, items, iv ? (lengths) => compileIntervention(iv, lengths) : [], cfg.batchSize)
    : null;
  return seqs.map((s, k) => ({
    generated: s.generated,
    text: s.text,
    behavior: scores ? scores[k].score : null,
    success: scores ? scores[k].success : null,
    kl: kl ? kl[k] : new Float32Array(s.generated.length),
    monitor: monitor ? monitor[k] : null,
  }));
}

function mean(xs: readonly (number | null)[]): number | null {
  const vs = xs.filter((x): x is number => x !== null);
  return vs.length ? vs.reduce((a, x) => a + x, 0) / vs.length : null;
}

function rate(prompts: readonly PromptOutcome[]): number | null {
  const vs = prompts.filter((o) => o.success !== null);
  return vs.length ? vs.filter((o) => o.success).length / vs.length : null;
}

/** The `--json` summary row of one coefficient. */
export function resultRow(r: CoefficientResult): { coeff: number; units: string; behavior: number | null; success_rate: number | null; kl: number; neutral_ce_delta: number | null; neutral_kl: number | null } {
  return { coeff: r.coeff.value, units: coefficientName(r.coeff).endsWith('x-norm') ? 'x-norm' : 'raw', behavior: r.behavior, success_rate: r.successRate, kl: r.kl, neutral_ce_delta: r.neutral?.ceDelta ?? null, neutral_kl: r.neutral?.kl ?? null };
}
