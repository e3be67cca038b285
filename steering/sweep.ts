/**
 * Reading a coefficient sweep: the effect-vs-cost frontier, its knee, and per-prompt
 * steerability.
 *
 * - Frontier: the coefficients no other coefficient beats on both effect (success rate, then
 *   mean behaviour) and cost (neutral ΔCE) — the Pareto set.
 * - Knee: the coefficient with the highest success rate among those whose neutral ΔCE stays
 *   within a budget (default 0.3 nats), ties broken by mean behaviour and then by the smaller
 *   |coefficient|. This is "the most effect one can buy for the budget", which is what a user
 *   picks a coefficient by; a Kneedle-style bend point depends on the sweep's range and spacing.
 *   Without a behaviour score, the knee is the largest |coefficient| within budget.
 * - Steerability (per prompt): the least-squares slope of the behaviour against the coefficient
 *   (FORMATS: slope of the behaviour against the coefficient, per prompt); a prompt "moves the
 *   wrong way" when its slope has the opposite sign of the intended direction (negative, for a
 *   sweep toward the positive concept).
 */

/** What the knee and frontier need from one sweep point. */
export interface SweepPoint {
  readonly coeff: number;
  readonly successRate: number | null;
  readonly behavior: number | null;
  readonly ceDelta: number;
}

export interface Knee {
  /** Index into the sweep points. */
  readonly index: number;
  readonly coeff: number;
  readonly rule: string;
}

export const KNEE_RULE = 'highest success rate with neutral ΔCE ≤ budget (ties: higher behaviour, then smaller |coeff|)';

/** The knee of a sweep under a ΔCE budget (nats), or null when no coefficient is within budget. */
export function findKnee(points: readonly SweepPoint[], budget: number): Knee | null {
  let best = -1;
  const better = (a: SweepPoint, b: SweepPoint): boolean => {
    if (a.successRate === null || b.successRate === null) return Math.abs(a.coeff) > Math.abs(b.coeff);
    if (a.successRate !== b.successRate) return a.successRate > b.successRate;
    if ((a.behavior ?? 0) !== (b.behavior ?? 0)) return (a.behavior ?? 0) > (b.behavior ?? 0);
    return Math.abs(a.coeff) < Math.abs(b.coeff);
  };
  points.forEach((p, i) => {
    if (!(p.ceDelta <= budget)) return;
    if (best < 0 || better(p, points[best])) best = i;
  });
  if (best < 0) return null;
  const rule = points[best].successRate === null ? `largest |coeff| with neutral ΔCE ≤ ${budget} nats` : `${KNEE_RULE}, budget ${budget} nats`;
  return { index: best, coeff: points[best].coeff, rule };
}

/** Indices of the Pareto frontier (maximise effect, minimise ΔCE), sorted by ΔCE. */
export function frontier(points: readonly SweepPoint[]): number[] {
  const effect = (p: SweepPoint) => p.successRate ?? p.behavior ?? 0;
  const dominated = (i: number) => points.some((q, j) => j !== i && effect(q) >= effect(points[i]) && q.ceDelta <= points[i].ceDelta && (effect(q) > effect(points[i]) || q.ceDelta < points[i].ceDelta));
  return points.map((_, i) => i).filter((i) => !dominated(i)).sort((a, b) => points[a].ceDelta - points[b].ceDelta);
}

/** Least-squares slope of y on x (0 with fewer than two distinct x). */
export function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, v) => a + v, 0) / n;
  const my = y.reduce((a, v) => a + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

export interface Steerability {
  /** Per-prompt slope of behaviour against the coefficient. */
  readonly slopes: readonly number[];
  /** Fraction of prompts whose slope is < 0 (they move away from the concept as c grows). */
  readonly wrongWay: number;
  /** Mean slope. */
  readonly mean: number;
}

/** Steerability from a behaviour matrix scores[k][prompt] measured at coefficients[k]. */
export function steerability(coefficients: readonly number[], scores: readonly (readonly number[])[]): Steerability {
  const prompts = scores[0]?.length ?? 0;
  const slopes = Array.from({ length: prompts }, (_, p) => slope(coefficients, scores.map((row) => row[p])));
  const wrongWay = prompts ? slopes.filter((s) => s < 0).length / prompts : 0;
  const mean = prompts ? slopes.reduce((a, s) => a + s, 0) / prompts : 0;
  return { slopes, wrongWay, mean };
}
