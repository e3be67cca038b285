/**
 * What a train-sae run directory holds besides its checkpoint: the SAE in the SAELens layout
 * (cfg.json, sae_weights.safetensors, sparsity.safetensors), metrics.json (the held-out metrics:
 * the `--json` contract plus detail) and manifest.json (written by the one run-manifest writer).
 * The library writes them, so a script that trains with trainSae gets the same directory the CLI
 * makes. A transcoder's summary says so (arch "transcoder", the activation in metrics.json) and
 * names both hooks (hook, hook_out) and d_out; its metrics are those of the output hook.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Capture } from '../src/store/index.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { writeRunManifest, type RunManifest } from '../src/util/run-manifest.js';
import { writeSaeFiles } from './io.js';
import type { SaeMetrics } from './metrics.js';
import type { LmMetrics } from './metrics-lm.js';
import { isTranscoder } from './sae.js';
import type { TrainSaeResult } from './trainer.js';

export const SAE_RUN_FORMAT = 'interp.sae-run';
export const SAE_RUN_FORMAT_VERSION = 1;

/** Files saveSaeRun writes into the run directory itself (the checkpoint folder is swapped whole). */
export const SAE_RUN_FILES = ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors', 'metrics.json', 'manifest.json'];

export interface SaeRun {
  readonly capture: Capture;
  readonly hook: string;
  readonly result: TrainSaeResult;
  readonly metrics: SaeMetrics;
  /** CE-loss and KL scores with the SAE spliced in, when a model was given. */
  readonly lm: LmMetrics | null;
  /** The command line (or library call) that made the run, for the manifest. */
  readonly command: readonly string[];
}

/** The summary of a run: the fields `interp train-sae --json` prints. */
export interface SaeRunSummary {
  readonly hook: string;
  /** Transcoders only: the output hook. */
  readonly hook_out?: string;
  /** The variant trained, or "transcoder". */
  readonly arch: string;
  readonly d_in: number;
  /** Transcoders only. */
  readonly d_out?: number;
  readonly d_sae: number;
  readonly k: number | null;
  readonly tokens: number;
  readonly checkpoint: string;
  readonly metrics: Readonly<Record<'l0' | 'mse' | 'explained_variance' | 'dead_fraction' | 'dense_fraction' | 'ce_loss_score' | 'kl_score' | 'delta_lm_loss', number | null>>;
}

/**
 * Writes the run directory `out`: first removes the temporaries of a write that was killed (they
 * are rewritten whole), then the SAE, metrics.json and manifest.json, each atomically.
 */
export function saveSaeRun(out: string, run: SaeRun): { summary: SaeRunSummary; manifest: RunManifest } {
  const { result, metrics, lm } = run;
  fs.mkdirSync(out, { recursive: true });
  removeKilledWrites(out);
  writeSaeFiles(out, result.sae, { sparsity: metrics.log10Density });
  const transcoder = isTranscoder(result.sae.cfg);
  const hookOut = result.sae.cfg.metadata.hook_name_out ?? '';
  const summary: SaeRunSummary = {
    hook: run.hook, ...(transcoder ? { hook_out: hookOut } : {}), arch: transcoder ? 'transcoder' : result.config.variant,
    d_in: result.config.dIn, ...(transcoder ? { d_out: result.sae.cfg.d_out } : {}), d_sae: result.config.dSae, k: result.config.k, tokens: result.tokens, checkpoint: path.resolve(out),
    metrics: {
      l0: metrics.l0, mse: metrics.mse, explained_variance: metrics.explainedVariance, dead_fraction: metrics.deadFraction, dense_fraction: metrics.denseFraction,
      ce_loss_score: lm?.ceLossScore ?? null, kl_score: lm?.klScore ?? null, delta_lm_loss: lm?.deltaLmLoss ?? null,
    },
  };
  const detail = { ...(transcoder ? { activation: result.config.variant, metrics_of: hookOut } : {}), eval_tokens: metrics.tokens, dead_fraction_training_window: result.deadFractionTraining, dead_tokens_window: result.config.deadTokens, cosine: metrics.cosine, norm_ratio: metrics.normRatio, histogram: metrics.histogram, seconds: result.seconds, resumed: result.resumed };
  writeFileAtomic(path.join(out, 'metrics.json'), `${JSON.stringify({ ...summary, ...detail }, null, 2)}\n`);
  const manifest = writeRunManifest(out, {
    format: SAE_RUN_FORMAT, format_version: SAE_RUN_FORMAT_VERSION,
    model: run.capture.manifest.model, dataset: run.capture.manifest.dataset, hooks: transcoder ? [run.hook, hookOut] : [run.hook], seed: result.config.seed,
    capture: path.resolve(run.capture.dir), config: result.config, input_scale: result.scale, ...(transcoder ? { output_scale: result.scaleOut } : {}), command: run.command,
  });
  return { summary, manifest };
}

/** Removes the temporaries (`.NAME.<pid>.<random>.tmp`, see writeFileAtomic) of SAE_RUN_FILES that a killed run left. */
function removeKilledWrites(out: string): void {
  for (const f of fs.readdirSync(out)) {
    if (SAE_RUN_FILES.some((name) => f.startsWith(`.${name}.`) && f.endsWith('.tmp'))) fs.rmSync(path.join(out, f), { force: true });
  }
}
