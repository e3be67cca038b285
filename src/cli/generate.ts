/** `interp generate`: a continuation of a prompt (text or token ids), greedy or sampled. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { generate } from '../runtime/generate.js';
import { HookedTransformer } from '../runtime/model.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';
import { parseIdList, parseNumberFlag } from './options.js';

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
}

async function run(flags: GenerateFlags): Promise<void> {
  if ((flags.prompt === undefined) === (flags.ids === undefined)) throw new UsageError('give exactly one of --prompt TEXT and --ids 1,2,3', 'pass --prompt "Once upon a time" or --ids 1,345,22');
  const model = await HookedTransformer.load(flags.model, { download: flags.download });
  // Token ids are used exactly as given; text goes through the TokenizerPolicy (BOS prepended once).
  const prompt = flags.ids ?? model.encode(flags.prompt as string);
  const out = await generate(model, [prompt], {
    maxNewTokens: flags.maxNewTokens,
    temperature: flags.temperature,
    topK: flags.topK,
    topP: flags.topP,
    seed: flags.seed,
    stopStrings: flags.stop,
  });
  await model.dispose();
  const seq = out.sequences[0];
  if (flags.json) printJson({ prompt_ids: prompt, ids: seq.generated, text: seq.text, stop_reason: seq.stopReason });
  else process.stdout.write(`${seq.text ?? seq.generated.join(' ')}\n`);
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
      .option('--json', 'print {"ids","text"} on stdout')
      .action(action((flags: GenerateFlags) => run(flags)));
  },
};
