/**
 * `interp steer`: baseline and steered continuations of the same prompts from the same seeds,
 * the behaviour score, the capability cost (per-token KL on the baseline continuation, ΔCE on
 * neutral text), and with --sweep the effect-vs-cost curve, its knee and per-prompt
 * steerability. Several vectors (e.g. one folder per layer) give a layer × coefficient grid.
 * Writes steer.json + manifest.json to --out and an HTML report.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { action, printJson } from '../../src/cli/action.js';
import type { CommandSpec } from '../../src/cli/command.js';
import { resolveDataset } from '../../src/cli/dataset-arg.js';
import { parseList, parseNumberFlag, DEVICE_FLAG, DEVICE_HELP } from '../../src/cli/options.js';
import { progressBar } from '../../src/cli/progress.js';
import type { Dataset } from '../../src/dataset/load.js';
import { UsageError } from '../../src/errors.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { parseBehavior } from '../behavior.js';
import type { BehaviorSpec } from '../behavior.js';
import { parseCoefficient, parsePositions, parseSweep, residualWriters, resolveScale } from '../interventions.js';
import type { Coefficient, SteerPositions } from '../interventions.js';
import { hookMeanNorm } from '../metrics.js';
import { writeSteerOutputs } from '../output.js';
import { chooseProbe, openSae, probeScorer } from '../external.js';
import { decoderRow, randomVector } from '../sources.js';
import type { Sae } from '../../sae/index.js';
import { runSteer } from '../steer.js';
import type { SteerArm } from '../steer.js';
import { loadVectors, vectorNorm } from '../vector.js';
import type { SteeringVector } from '../vector.js';

interface SteerFlags {
  model: string;
  vector?: string[];
  hook?: string;
  hooks?: string[];
  coeff?: string;
  sweep?: string;
  positions: string;
  ablate?: boolean;
  ablateAll?: boolean;
  clamp?: string;
  latent?: number;
  probe?: string;
  sae?: string;
  prompts: string;
  maxPrompts?: number;
  neutral?: string;
  maxNeutral: number;
  behavior?: string;
  monitor?: string;
  threshold: number;
  control?: boolean;
  ceBudget: number;
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  batchSize: number;
  out: string;
  report: boolean;
  reports?: string;
  json?: boolean;
  download?: boolean;
  device?: string;
}

type Mode = 'add' | 'ablate' | 'ablate-all' | 'clamp';

function modeOf(f: SteerFlags): Mode {
  const modes = [f.ablate && 'ablate', f.ablateAll && 'ablate-all', f.clamp !== undefined && 'clamp'].filter((m): m is Mode => typeof m === 'string');
  if (modes.length > 1) throw new UsageError(`${modes.map((m) => `--${m}`).join(' and ')} exclude each other`, 'pass one of --ablate, --ablate-all, --clamp (or none, for addition)');
  return modes[0] ?? 'add';
}

function coefficientsOf(f: SteerFlags, mode: Mode): Coefficient[] {
  // Monitor mode alone (no vector, no clamp): only the baseline runs.
  if (mode === 'add' && !f.vector?.length && f.monitor !== undefined && f.coeff === undefined && f.sweep === undefined) return [];
  if (mode === 'ablate' || mode === 'ablate-all') {
    if (f.coeff !== undefined || f.sweep !== undefined) throw new UsageError('directional ablation takes no coefficient', 'drop --coeff/--sweep, or steer by addition instead of --ablate');
    return [{ units: 'raw', value: 1 }];
  }
  if ((f.coeff === undefined) === (f.sweep === undefined)) throw new UsageError(`give exactly one of --coeff c and --sweep a:b:n${mode === 'clamp' ? ' (the clamp value)' : ''}`, 'pass e.g. --coeff 4, --coeff 0.5x-norm, or --sweep 0:1x-norm:5');
  return f.coeff !== undefined ? [parseCoefficient(f.coeff)] : parseSweep(f.sweep as string);
}

/** Token ids of a dataset's records (text under the TokenizerPolicy; ids exactly as given). */
function encodeAll(model: HookedTransformer, ds: Dataset, limit: number | undefined): number[][] {
  return ds.records.slice(0, limit).map((r) => (r.kind === 'text' ? model.encode(r.text) : [...r.ids]));
}

/** One arm per vector (one per layer when a folder of vector folders is given). */
type AddOrAblate = Exclude<Mode, 'clamp'>;

/** The SAE latent a --clamp run sets, with its decoder row as the run's "vector". */
interface ClampTarget {
  readonly sae: Sae;
  readonly hook: string;
  readonly latent: number;
  readonly vector: SteeringVector;
}

function clampTarget(f: SteerFlags): ClampTarget {
  if (f.latent === undefined) throw new UsageError('--clamp needs --latent I (the latent to set)', 'pass e.g. --clamp sae/ --latent 12 --sweep 0:20:5');
  const { sae, hook } = openSae(f.clamp as string);
  const row = decoderRow(sae.weights.W_dec, sae.cfg.d_sae, sae.cfg.d_in, f.latent);
  return { sae, hook: f.hook ?? hook, latent: f.latent, vector: { hook: f.hook ?? hook, vector: row, location: f.clamp as string, json: null } };
}

/** One arm that clamps the latent to each coefficient's value (raw units: the latent's activation). */
function clampArms(c: ClampTarget, positions: SteerPositions): { arms: SteerArm[]; norms: Map<string, number> } {
  const arm: SteerArm = {
    label: `clamp latent ${c.latent} at ${c.hook}`, hooks: [c.hook], zeroIsBaseline: false, control: null,
    make: (coeff) => {
      if (coeff.units !== 'raw') throw new UsageError('a clamp value is an SAE latent activation, not a multiple of the residual norm', 'pass a raw --coeff or --sweep');
      return { kind: 'clamp', hook: c.hook, sae: c.sae, latent: c.latent, value: coeff.value, positions };
    },
  };
  return { arms: [arm], norms: new Map() };
}

async function buildArms(model: HookedTransformer, vectors: readonly SteeringVector[], f: SteerFlags, mode: AddOrAblate, positions: SteerPositions, normTexts: readonly (readonly number[])[]): Promise<{ arms: SteerArm[]; norms: Map<string, number> }> {
  const norms = new Map<string, number>();
  const arms: SteerArm[] = [];
  for (const [k, v] of vectors.entries()) {
    const hooks = mode === 'ablate-all' ? residualWriters(model) : (f.hooks ?? [v.hook]).map((h) => model.hook(h).name);
    const first = hooks[0];
    if (!norms.has(first)) norms.set(first, await hookMeanNorm(model, first, normTexts, f.batchSize));
    const meanNorm = norms.get(first) as number;
    const label = mode === 'ablate-all' ? `ablate ${v.hook} direction at every residual writer` : hooks.join(' + ');
    const armFor = (vector: Float32Array, name: string, withControl: boolean): SteerArm => ({
      label: name, hooks, zeroIsBaseline: mode === 'add',
      make: (c) => (mode === 'add'
        ? { kind: 'add', hooks, vector, scale: resolveScale(c, vector, meanNorm), positions }
        : { kind: 'ablate', hooks, direction: vector, positions }),
      control: withControl ? () => armFor(randomVector(vector.length, vectorNorm(vector), f.seed + 1000 + k), `random vector (same norm) at ${hooks.join(' + ')}`, false) : null,
    });
    arms.push(armFor(v.vector, label, true));
  }
  return { arms, norms };
}

function behaviorOf(f: SteerFlags): BehaviorSpec | null {
  if (f.behavior === undefined) return null;
  if (f.behavior.startsWith('probe:')) return { kind: 'probe', probe: probeScorer(chooseProbe(f.behavior.slice('probe:'.length))) };
  return parseBehavior(f.behavior);
}

async function run(f: SteerFlags): Promise<void> {
  const mode = modeOf(f);
  const coefficients = coefficientsOf(f, mode);
  const positions = parsePositions(f.positions);
  const behavior = behaviorOf(f);
  const monitor = f.monitor !== undefined ? { probe: probeScorer(chooseProbe(f.monitor)), threshold: f.threshold } : null;
  const clamp = mode === 'clamp' ? clampTarget(f) : null;
  if (!f.vector?.length && !clamp && !monitor) throw new UsageError('--vector is required (a folder from `interp vector`, or a safetensors file with --hook)', 'pass --vector DIR (or --clamp SAE --latent I, or --monitor PROBE alone)');
  const vectors = clamp ? [clamp.vector] : (f.vector ?? []).flatMap((v) => loadVectors(v, f.hook));
  const promptSet = resolveDataset(f.prompts);
  const neutralSet = f.neutral !== undefined ? resolveDataset(f.neutral) : null;
  const model = await HookedTransformer.load(f.model, { download: f.download, device: f.device });
  const bar = progressBar('steer', 'runs');
  try {
    for (const v of vectors) if (v.vector.length !== model.config.dModel) throw new UsageError(`${v.location}: the vector has ${v.vector.length} entries, the model's d_model is ${model.config.dModel}`, 'use a vector made for this model');
    const prompts = encodeAll(model, promptSet, f.maxPrompts);
    const neutral = neutralSet ? encodeAll(model, neutralSet, f.maxNeutral) : [];
    // Nx-norm refers to the mean ‖h‖ over the neutral text's tokens (BOS excluded), or the prompts' without --neutral.
    const { arms, norms } = clamp ? clampArms(clamp, positions) : await buildArms(model, vectors, f, mode as AddOrAblate, positions, neutral.length ? neutral : prompts);
    const result = await runSteer({
      model, prompts, neutral, arms, control: f.control === true, coefficients,
      generation: { maxNewTokens: f.maxNewTokens, temperature: f.temperature, topK: f.topK, topP: f.topP, seed: f.seed },
      behavior, monitor, ceBudget: f.ceBudget, batchSize: f.batchSize, progress: bar.update,
    });
    bar.stop();
    const written = await writeSteerOutputs({
      out: f.out, model, modelId: f.model, vectors, result, mode, positions, behavior, norms, monitorThreshold: monitor?.threshold ?? null,
      compare: { probe: f.probe !== undefined ? chooseProbe(f.probe) : null, sae: f.sae !== undefined ? openSae(f.sae).sae : clamp?.sae ?? null },
      prompts: { source: promptSet.source, sha256: promptSet.sha256 }, neutral: neutralSet ? { source: neutralSet.source, sha256: neutralSet.sha256 } : null,
      ceBudget: f.ceBudget, generation: { maxNewTokens: f.maxNewTokens, temperature: f.temperature, topK: f.topK ?? null, topP: f.topP ?? null, seed: f.seed },
      command: ['interp', ...process.argv.slice(2)], report: f.report, reportsDir: f.reports,
    });
    if (f.json) printJson(written.summary);
    else process.stdout.write(written.text);
  } finally {
    bar.stop();
    await model.dispose();
  }
}

export const steerCommand: CommandSpec = {
  name: 'steer',
  register(program: Command) {
    program
      .command('steer')
      .description('compare baseline and steered generations: behaviour, per-token KL, neutral-text CE, coefficient sweeps and their knee')
      .requiredOption('--model <dir>', 'model directory or hub id')
      .option('--vector <dir...>', 'vector folder(s) from `interp vector` (a folder of per-hook folders sweeps every layer), or a safetensors file with --hook')
      .option('--hook <name>', 'hook of a plain safetensors vector')
      .option('--hooks <names>', 'apply the vector at these hooks instead of its own (comma-separated, all at once)', parseList)
      .option('--coeff <c>', 'coefficient: raw (adds c·v) or Nx-norm (adds N·mean‖h‖·v̂)')
      .option('--sweep <a:b:n>', 'n coefficients from a to b; x-norm suffix for norm units (e.g. 0:1x-norm:5)')
      .option('--positions <p>', 'all, prompt, generated, or a range a:b of absolute token indices (BOS = 0)', 'all')
      .option('--ablate', 'directional ablation h − v̂v̂ᵀh at the vector\'s hook instead of addition')
      .option('--ablate-all', 'directional ablation at every hook that writes to the residual stream')
      .option('--clamp <sae>', 'clamp an SAE latent (SAELens folder) to each coefficient value: encode, set, decode the difference')
      .option('--latent <i>', 'the SAE latent of --clamp', parseNumberFlag('--latent', { min: 0, integer: true }))
      .option('--probe <dir>', 'a probe (DIR or DIR:CLASS) the vector card compares the vector with')
      .option('--sae <dir>', 'an SAE whose nearest decoder rows the vector card lists')
      .requiredOption('--prompts <file>', 'prompts: JSONL ({"text"} or {"token_ids"}), a text file, or tinyworld:NAME')
      .option('--max-prompts <n>', 'use only the first n prompts', parseNumberFlag('--max-prompts', { min: 1, integer: true }))
      .option('--neutral <file>', 'neutral text for the capability cost (ΔCE, KL), e.g. tinyworld:neutral')
      .option('--max-neutral <n>', 'neutral texts used', parseNumberFlag('--max-neutral', { min: 1, integer: true }), 64)
      .option('--behavior <spec>', 'behaviour score: tinyworld:mood=MOOD, lexicon:FILE, or probe:DIR')
      .option('--monitor <probe>', 'report a probe\'s score per generated token and flag tokens above --threshold')
      .option('--threshold <x>', 'monitor threshold (probability)', parseNumberFlag('--threshold', { min: 0, max: 1 }), 0.5)
      .option('--control', 'also run a random vector of the same norm at the best arm\'s hooks')
      .option('--ce-budget <nats>', 'neutral ΔCE budget of the knee', parseNumberFlag('--ce-budget', { min: 0 }), 0.3)
      .option('--max-new-tokens <n>', 'tokens to generate', parseNumberFlag('--max-new-tokens', { min: 1, integer: true }), 40)
      .option('--temperature <t>', '0 is greedy', parseNumberFlag('--temperature', { min: 0 }), 1)
      .option('--top-k <k>', 'sample among the k most likely tokens', parseNumberFlag('--top-k', { min: 1, integer: true }))
      .option('--top-p <p>', 'nucleus sampling threshold', parseNumberFlag('--top-p', { min: 0, max: 1 }))
      .option('--seed <s>', 'prompt k samples with seed + k in every condition', parseNumberFlag('--seed', { integer: true }), 0)
      .option('--batch-size <n>', 'prompts per batch', parseNumberFlag('--batch-size', { min: 1, integer: true }), 16)
      .requiredOption('--out <dir>', 'run directory: steer.json (every generation and metric) and manifest.json')
      .option('--no-report', 'do not write the HTML report')
      .option('--reports <dir>', 'reports directory (default ./reports)')
      .option('--download', 'download a hub id that is not in the Hugging Face cache')
      .option(DEVICE_FLAG, DEVICE_HELP)
      .option('--json', 'print {"vector","hooks","results":[{coeff,behavior,success_rate,kl,neutral_ce_delta}],"knee":{coeff}} on stdout')
      .action(action((flags: SteerFlags) => run(flags)));
  },
};
