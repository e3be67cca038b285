/**
 * Steering interventions as a user states them, compiled to the runtime's Intervention records:
 *
 *   add      h ← h + s·v at one or more hooks (activation addition: ActAdd, Turner et al. 2023;
 *            CAA, Rimsky et al. 2024), s a raw coefficient or a multiple of the hook's mean norm;
 *   ablate   h ← h − v̂v̂ᵀh (directional ablation, Arditi et al. 2024), at one hook or at every
 *            hook that writes to the residual stream, so that the stream never holds v̂;
 *   clamp    set SAE latent i to a value: encode at the hook, add (value − f_i)·W_dec[i]
 *            ("decode the difference", so the SAE's reconstruction error stays in h).
 *
 * Positions are absolute token indices (0 = BOS when prepended), as the runtime's selectors see
 * them in batches, alone and under the KV cache: `generated` is every position at or after the
 * prompt's length, so the first generated token is steered when it is processed, and its *choice*
 * is steered by `all` or `prompt` (CAA #3 skipped it; steering-vectors #60 lost track of it).
 *
 * Vocabulary: b = batch, p = positions of a step, d = d_model, m = d_sae.
 */
import { UsageError } from '../src/errors.js';
import { phasePositions } from '../src/runtime/generate.js';
import { hookName } from '../src/hooks.js';
import type { HookFunction, Intervention, PositionSelector } from '../src/runtime/interventions.js';
import type { HookedTransformer } from '../src/runtime/model.js';
import { encodeReference } from '../sae/index.js';
import type { Sae } from '../sae/index.js';
import { vectorNorm } from './vector.js';

/** A coefficient: raw (adds c·v) or a multiple of the hook's mean residual norm (adds c·‖h̄‖·v̂). */
export type Coefficient = { readonly units: 'raw'; readonly value: number } | { readonly units: 'norm'; readonly value: number };

/** Which token positions an intervention touches. */
export type SteerPositions =
  | { readonly kind: 'all' }
  | { readonly kind: 'prompt' }
  | { readonly kind: 'generated' }
  /** Absolute positions [from, to); `to` null runs to the end. */
  | { readonly kind: 'range'; readonly from: number; readonly to: number | null };

/** A steering intervention, before compilation. */
export type SteeringIntervention =
  | { readonly kind: 'add'; readonly hooks: readonly string[]; readonly vector: Float32Array; readonly scale: number; readonly positions: SteerPositions }
  | { readonly kind: 'ablate'; readonly hooks: readonly string[]; readonly direction: Float32Array; readonly positions: SteerPositions }
  | { readonly kind: 'clamp'; readonly hook: string; readonly sae: Sae; readonly latent: number; readonly value: number; readonly positions: SteerPositions };

/** Parses `--coeff`: a number (raw) or `Nx-norm` (N times the hook's mean residual norm). */
export function parseCoefficient(value: string, flag = '--coeff'): Coefficient {
  const norm = /^(.*)x-norm$/.exec(value.trim());
  const text = norm ? norm[1] : value.trim();
  const n = Number(text);
  if (text === '' || !Number.isFinite(n)) throw new UsageError(`${flag} ${value}: expected a number (raw) or Nx-norm (a multiple of the hook's mean residual norm)`, `pass e.g. ${flag} 4 or ${flag} 0.5x-norm`);
  return norm ? { units: 'norm', value: n } : { units: 'raw', value: n };
}

/** The `--coeff` spelling of a coefficient. */
export function coefficientName(c: Coefficient): string {
  return c.units === 'norm' ? `${c.value}x-norm` : String(c.value);
}

/**
 * Parses `--sweep a:b:n`: n evenly spaced coefficients from a to b inclusive. Either end may carry
 * the `x-norm` suffix (then both are in norm units).
 */
export function parseSweep(value: string): Coefficient[] {
  const parts = value.split(':');
  const n = Number(parts[2]);
  if (parts.length !== 3 || !Number.isInteger(n) || n < 1) throw new UsageError(`--sweep ${value}: expected a:b:n (from a to b in n steps)`, 'pass e.g. --sweep 0:8:9 or --sweep 0:1x-norm:6');
  const units = parts[0].endsWith('x-norm') || parts[1].endsWith('x-norm') ? 'norm' : 'raw';
  const [a, b] = [parts[0], parts[1]].map((p) => parseCoefficient(p.replace(/x-norm$/, ''), '--sweep').value);
  return Array.from({ length: n }, (_, i) => ({ units, value: n === 1 ? a : a + ((b - a) * i) / (n - 1) }));
}

/** The multiplier s of v such that the added vector is s·v. */
export function resolveScale(c: Coefficient, vector: Float32Array, hookMeanNorm: number | null): number {
  switch (c.units) {
    case 'raw':
      return c.value;
    case 'norm': {
      if (hookMeanNorm === null) throw new UsageError(`coefficient ${coefficientName(c)} needs the hook's mean residual norm`, 'give --neutral (or prompts) to measure it, or use a raw coefficient');
      const norm = vectorNorm(vector);
      if (norm === 0) throw new UsageError('the steering vector is zero, so it has no direction to scale to the residual norm', 'make the vector again');
      return (c.value * hookMeanNorm) / norm;
    }
  }
}

/** Parses `--positions`: all, prompt, generated, or a range `a:b` / `a:` of absolute token indices. */
export function parsePositions(value: string): SteerPositions {
  if (value === 'all' || value === 'prompt' || value === 'generated') return { kind: value };
  const m = /^(\d+):(\d*)$/.exec(value.trim());
  if (m) {
    const from = Number(m[1]);
    const to = m[2] === '' ? null : Number(m[2]);
    if (to === null || to > from) return { kind: 'range', from, to };
  }
  throw new UsageError(`--positions ${value}: expected all, prompt, generated, or a range a:b (absolute token indices, BOS = 0, b exclusive)`, 'pass e.g. --positions generated or --positions 5:');
}

export function positionsName(p: SteerPositions): string {
  return p.kind === 'range' ? `${p.from}:${p.to ?? ''}` : p.kind;
}

/** The runtime selector for `p`, given each row's prompt length. */
export function positionSelector(p: SteerPositions, promptLengths: readonly number[]): PositionSelector {
  switch (p.kind) {
    case 'all':
    case 'prompt':
    case 'generated':
      return phasePositions(p.kind, promptLengths);
    case 'range': {
      const { from, to } = p;
      return (_row, pos) => pos >= from && (to === null || pos < to);
    }
  }
}

/**
 * Every hook whose output is added into the residual stream: the token embedding (and the learned
 * position embedding of absolute-position models), and each block's attention and MLP outputs.
 * Projecting v̂ out of all of them keeps v̂ out of every resid_pre/mid/post (Arditi et al. 2024, §2.4).
 */
export function residualWriters(model: HookedTransformer): string[] {
  const names = new Set(model.hookPoints.map((p) => p.name));
  const out = [hookName('hook_embed')];
  if (names.has(hookName('hook_pos_embed'))) out.push(hookName('hook_pos_embed'));
  for (let L = 0; L < model.config.nLayers; L++) out.push(hookName('blocks.{L}.hook_attn_out', L), hookName('blocks.{L}.hook_mlp_out', L));
  return out;
}

/** Compiles a steering intervention into runtime interventions for rows with these prompt lengths. */
export function compileIntervention(iv: SteeringIntervention, promptLengths: readonly number[]): Intervention[] {
  const positions = positionSelector(iv.positions, promptLengths);
  switch (iv.kind) {
    case 'add': {
      const value = Float32Array.from(iv.vector, (x) => x * iv.scale);
      return iv.hooks.map((hook) => ({ kind: 'add' as const, hook, value, positions }));
    }
    case 'ablate':
      return iv.hooks.map((hook) => ({ kind: 'project_out' as const, hook, direction: iv.direction, positions }));
    case 'clamp':
      return [{ kind: 'function', hook: iv.hook, fn: clampFunction(iv.sae, iv.latent, iv.value, positions) }];
  }
}

/**
 * A JavaScript hook that clamps SAE latent `latent` to `value` at the selected positions:
 * h ← h + (value − f_latent(h))·W_dec[latent]. Only the difference is decoded, so the SAE's error
 * term (h − x̂) is kept and other latents are untouched (SAELens' "steering with error term").
 */
export function clampFunction(sae: Sae, latent: number, value: number, positions: PositionSelector): HookFunction {
  const { d_in: d, d_sae: m } = sae.cfg;
  if (!Number.isInteger(latent) || latent < 0 || latent >= m) throw new UsageError(`latent ${latent} is outside the SAE's [0, ${m})`, `pass a latent between 0 and ${m - 1}`);
  const row = sae.weights.W_dec.subarray(latent * d, (latent + 1) * d);
  return (h, step) => {
    if (h.shape[h.shape.length - 1] !== d) throw new UsageError(`the SAE reads ${d}-wide activations but its hook has width ${h.shape[h.shape.length - 1]}`, 'clamp at the hook the SAE was trained on (cfg.json metadata.hook_name)');
    for (let r = 0; r < step.batch; r++) {
      for (let i = 0; i < step.positions; i++) {
        const k = r * step.positions + i;
        if (!step.real[k] || (positions !== 'all' && !positions(r, Number(step.positionIds[k])))) continue;
        const x = h.data.subarray(k * d, (k + 1) * d);
        const f = latentActivation(sae, x, latent);
        const delta = value - f;
        for (let j = 0; j < d; j++) x[j] += delta * row[j];
      }
    }
  };
}

/** f_latent(x) of one activation row [d], computed as the SAE's encode does. */
function latentActivation(sae: Sae, x: Float32Array, latent: number): number {
  const { d_in: d, d_sae: m, architecture } = sae.cfg;
  const { W_enc, b_enc, b_dec, threshold } = sae.weights;
  switch (architecture) {
    case 'topk':
      // Membership in the top k depends on every latent: encode the whole row.
      return encodeReference(sae, x, 1)[latent];
    case 'relu':
    case 'jumprelu': {
      let pre = b_enc[latent];
      for (let j = 0; j < d; j++) pre += (x[j] - (sae.cfg.apply_b_dec_to_input ? b_dec[j] : 0)) * W_enc[j * m + latent];
      if (architecture === 'relu') return Math.max(pre, 0);
      return pre > (threshold as Float32Array)[latent] ? pre : 0;
    }
  }
}
