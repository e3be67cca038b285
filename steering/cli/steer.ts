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
import { parseList, parseNumberFlag } from '../../src/cli/options.js';
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
import { randomVector } from '../sources.js';
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
}

type Mode = 'add' | 'ablate' | 'ablate-all';

function modeOf(f: SteerFlags): Mode {
  if (f.ablate && f.ablateAll) throw new UsageError('--ablate and --ablate-all exclude each other', 'pass one: --ablate (at the vector\'s hook) or --ablate-all (every residual writer)');
  return f.ablateAll ? 'ablate-all' : f.ablate ? 'ablate' : 'add';
}

function coefficientsOf(f: SteerFlags, mode: Mode): Coefficient[] {
  if (mode !== 'add') {
    if (f.coeff !== undefined || f.sweep !== undefined) throw new UsageError('directional ablation takes no coefficient', 'drop --coeff/--sweep, or steer by addition instead of --ablate');
    return [{ units: 'raw', value: 1 }];
  }
  if ((f.coeff === undefined) === (f.sweep === undefined)) throw new UsageError('give exactly one of --coeff c and --sweep a:b:n', 'pass e.g. --coeff 4, --coeff 0.5x-norm, or --sweep 0:1x-norm:5');
  return f.coeff !== undefined ? [parseCoefficient(f.coeff)] : parseSweep(f.sweep as string);
}

/** Token ids of a dataset's records (text under the TokenizerPolicy; ids exactly as given). */
function encodeAll(model: HookedTransformer, ds: Dataset, limit: number | undefined): number[][] {
  return ds.records.slice(0, limit).map((r) => (r.kind === 'text' ? model.encode(r.text) : [...r.ids]));
}

/** One arm per vector (one per layer when a folder of vector folders is given). */
async function buildArms(model: HookedTransformer, vectors: readonly SteeringVector[], f: SteerFlags, mode: Mode, positions: SteerPositions, normTexts: readonly (readonly number[])[]): Promise<{ arms: SteerArm[]; norms: Map<string, number> }> {
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
  if (f.behavior.startsWith('probe:')) {
    // probes/index.ts (loadProbe / applyProbe) is being written beside this module.
    throw new UsageError('--behavior probe:DIR needs the probes module (probes/index.ts), which this build does not have yet', 'use --behavior tinyworld:mood=MOOD or --behavior lexicon:FILE');
  }
  return parseBehavior(f.behavior);
}

async function run(f: SteerFlags): Promise<void> {
  const mode = modeOf(f);
  const coefficients = coefficientsOf(f, mode);
  const positions = parsePositions(f.positions);
  const behavior = behaviorOf(f);
  if (f.monitor !== undefined) throw new UsageError('--monitor PROBE needs the probes module (probes/index.ts), which this build does not have yet', 'run without --monitor for now');
  if (!f.vector?.length) throw new UsageError('--vector is required (a folder from `interp vector`, or a safetensors file with --hook)', 'pass --vector DIR');
  const vectors = f.vector.flatMap((v) => loadVectors(v, f.hook));
  const promptSet = resolveDataset(f.prompts);
  const neutralSet = f.neutral !== undefined ? resolveDataset(f.neutral) : null;
  const model = await HookedTransformer.load(f.model, { download: f.download });
  const bar = progressBar('steer', 'runs');
  try {
    for (const v of vectors) if (v.vector.length !== model.config.dModel) throw new UsageError(`${v.location}: the vector has ${v.vector.length} entries, the model's d_model is ${model.config.dModel}`, 'use a vector made for this model');
    const prompts = encodeAll(model, promptSet, f.maxPrompts);
    const neutral = neutralSet ? encodeAll(model, neutralSet, f.maxNeutral) : [];
    // Nx-norm refers to the mean ‖h‖ over the neutral text's tokens (BOS excluded), or the prompts' without --neutral.
    const { arms, norms } = await buildArms(model, vectors, f, mode, positions, neutral.length ? neutral : prompts);
    const result = await runSteer({
      model, prompts, neutral, arms, control: f.control === true, coefficients,
      generation: { maxNewTokens: f.maxNewTokens, temperature: f.temperature, topK: f.topK, topP: f.topP, seed: f.seed },
      behavior, monitor: null, ceBudget: f.ceBudget, batchSize: f.batchSize, progress: bar.update,
    });
    bar.stop();
    const written = await writeSteerOutputs({
      out: f.out, model, modelId: f.model, vectors, result, mode, positions, behavior, norms,
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
      .option('--json', 'print {"vector","hooks","results":[{coeff,behavior,success_rate,kl,neutral_ce_delta}],"knee":{coeff}} on stdout')
      .action(action((flags: SteerFlags) => run(flags)));
  },
};
