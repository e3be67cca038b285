/** `interp generate`: a continuation of a prompt (text or token ids), greedy or sampled. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { generate } from '../runtime/generate.js';
import type { Intervention } from '../runtime/interventions.js';
import { HookedTransformer } from '../runtime/model.js';
import { compileIntervention, parseCoefficient, parsePositions, resolveScale } from '../../steering/interventions.js';
import { hookMeanNorm } from '../../steering/metrics.js';
import { loadVector } from '../../steering/vector.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';
import { parseIdList, parseNumberFlag, DEVICE_FLAG, DEVICE_HELP } from './options.js';

interface GenerateFlags {
  model: string;
  prompt?: string;
  ids?: number[];
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  stop?: string[];
  json?: boolean;
  download?: boolean;
  device?: string;
  steer?: string;
  coeff?: string;
  positions: string;
  hook?: string;
}

/**
 * The interventions of `--steer VECTOR --coeff c [--positions p] [--hook H]`: c·v added at the
 * vector's hook (or H). An `Nx-norm` coefficient is N times the mean ‖h‖ at the hook over this
 * prompt's tokens except BOS (one-off use has no other text to measure it on).
 */
async function steering(model: HookedTransformer, prompt: readonly number[], flags: GenerateFlags): Promise<Intervention[]> {
  if (flags.steer === undefined) {
    if (flags.coeff !== undefined || flags.hook !== undefined) throw new UsageError('--coeff and --hook only apply with --steer VECTOR', 'add --steer DIR, or drop them');
    return [];
  }
  if (flags.coeff === undefined) throw new UsageError('--steer needs --coeff (raw, or Nx-norm)', 'pass e.g. --coeff 4 or --coeff 0.5x-norm');
  const vector = loadVector(flags.steer, flags.hook);
  const hook = model.hook(vector.hook).name;
  if (vector.vector.length !== model.config.dModel) throw new UsageError(`${flags.steer}: the vector has ${vector.vector.length} entries, the model's d_model is ${model.config.dModel}`, 'use a vector made for this model');
  const coeff = parseCoefficient(flags.coeff);
  const meanNorm = coeff.units === 'norm' ? await hookMeanNorm(model, hook, [prompt]) : null;
  if (meanNorm === 0) throw new UsageError('--coeff Nx-norm needs a prompt with at least one token after BOS to measure the residual norm', 'use a raw --coeff, or a longer prompt');
  return compileIntervention({ kind: 'add', hooks: [hook], vector: vector.vector, scale: resolveScale(coeff, vector.vector, meanNorm), positions: parsePositions(flags.positions) }, [prompt.length]);
}

async function run(flags: GenerateFlags): Promise<void> {
  if ((flags.prompt === undefined) === (flags.ids === undefined)) throw new UsageError('give exactly one of --prompt TEXT and --ids 1,2,3', 'pass --prompt "Once upon a time" or --ids 1,345,22');
  const model = await HookedTransformer.load(flags.model, { download: flags.download, device: flags.device });
  // Token ids are used exactly as given; text goes through the TokenizerPolicy (BOS prepended once).
  const prompt = flags.ids ?? model.encode(flags.prompt as string);
  const out = await generate(model, [prompt], {
    maxNewTokens: flags.maxNewTokens,
    temperature: flags.temperature,
    topK: flags.topK,
    topP: flags.topP,
    seed: flags.seed,
    stopStrings: flags.stop,
    interventions: await steering(model, prompt, flags),
  });
  await model.dispose();
  const seq = out.sequences[0];
  if (flags.json) printJson({ prompt_ids: prompt, ids: seq.generated, text: seq.text, stop_reason: seq.stopReason });
  // Plain output reads as text: the prompt followed by its continuation (ids when there is no tokenizer).
  else process.stdout.write(seq.text === null ? `${seq.generated.join(' ')}\n` : `${flags.prompt ?? ''}${seq.text}\n`);
}

export const generateCommand: CommandSpec = {
  name: 'generate',
  register(program: Command) {
    program
      .command('generate')
      .description('continue a prompt (greedy by default; sampling with --temperature)')
      .requiredOption('--model <dir>', 'model directory or hub id')
      .option('--prompt <text>', 'prompt text (BOS is prepended per the TokenizerPolicy)')
      .option('--ids <ids>', 'prompt token ids, used exactly as given', parseIdList('--ids'))
      .option('--max-new-tokens <n>', 'tokens to generate', parseNumberFlag('--max-new-tokens', { min: 0, integer: true }), 32)
      .option('--temperature <t>', '0 is greedy', parseNumberFlag('--temperature', { min: 0 }), 0)
      .option('--top-k <k>', 'sample among the k most likely tokens', parseNumberFlag('--top-k', { min: 1, integer: true }))
      .option('--top-p <p>', 'nucleus sampling threshold', parseNumberFlag('--top-p', { min: 0, max: 1 }))
      .option('--seed <s>', 'sampling seed', parseNumberFlag('--seed', { integer: true }), 0)
      .option('--stop <string...>', 'stop when the continuation contains one of these strings')
      .option('--download', 'download a hub id that is not in the Hugging Face cache')
      .option(DEVICE_FLAG, DEVICE_HELP)
      .option('--steer <vector>', 'add a steering vector: a folder from `interp vector`, or a safetensors file with one tensor "vector" [d] (needs --hook)')
      .option('--coeff <c>', 'steering coefficient: raw (adds c·v) or Nx-norm (N·mean‖h‖ over the prompt, along v̂)')
      .option('--positions <p>', 'steered positions: all, prompt, generated, or a range a:b (absolute, BOS = 0)', 'all')
      .option('--hook <name>', 'where the vector goes (required for a plain safetensors file; overrides a vector folder\'s hook)')
      .option('--json', 'print {"ids","text"} on stdout')
      .action(action((flags: GenerateFlags) => run(flags)));
  },
};
