/**
 * The optimiser step of SAE training: Adam on every parameter (SAELens: torch.optim.Adam,
 * β = (0.9, 0.999)), with unit-norm decoder rows for the variants that keep them
 * (config.unitNormDecoder): the gradient's component along each row is removed first and the
 * rows are renormalised after the step (Gao et al. 2024 §2.3; sparsify, SAELens).
 */
import { adamState, adamStep, disposeAdamState, normalize, type AdamState } from '../src/engine/index.js';
import { unitNormDecoder, type TrainConfig } from './config.js';
import { projectRows } from './kernels/decoder.js';
import type { SaeParams } from './params.js';
import type { Grads } from './step.js';

/** Adam moments per parameter. */
export interface AdamStates {
  readonly W_enc: AdamState;
  readonly b_enc: AdamState;
  readonly W_dec: AdamState;
  readonly b_dec: AdamState;
  readonly logThreshold: AdamState | null;
}

export function adamStates(p: SaeParams): AdamStates {
  return {
    W_enc: adamState(p.W_enc),
    b_enc: adamState(p.b_enc),
    W_dec: adamState(p.W_dec),
    b_dec: adamState(p.b_dec),
    logThreshold: p.logThreshold ? adamState(p.logThreshold) : null,
  };
}

export function disposeAdamStates(a: AdamStates): void {
  for (const s of [a.W_enc, a.b_enc, a.W_dec, a.b_dec, a.logThreshold]) if (s) disposeAdamState(s);
}

/** Applies one Adam step with learning rate `lr` (call inside `scope()`). */
export function updateParams(cfg: TrainConfig, p: SaeParams, g: Grads, adam: AdamStates, lr: number): void {
  const unit = unitNormDecoder(cfg.variant);
  if (unit) projectRows(g.W_dec, p.W_dec);
  adamStep(p.W_enc, g.W_enc, adam.W_enc, { lr });
  adamStep(p.b_enc, g.b_enc, adam.b_enc, { lr });
  adamStep(p.W_dec, g.W_dec, adam.W_dec, { lr });
  adamStep(p.b_dec, g.b_dec, adam.b_dec, { lr });
  if (p.logThreshold && g.logThreshold && adam.logThreshold) adamStep(p.logThreshold, g.logThreshold, adam.logThreshold, { lr });
  if (unit) normalize(p.W_dec, 'rows');
}
