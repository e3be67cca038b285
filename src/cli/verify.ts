/** `interp verify`: checks the runtime hook by hook against a reference file (and greedy.json). */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { FileFormatError } from '../errors.js';
import { openSafetensors } from '../model/index.js';
import { HookedTransformer } from '../runtime/model.js';
import { compareGreedy, compareReference, readGreedyReference } from '../runtime/verify.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';
import { parseNumberFlag, DEVICE_FLAG, DEVICE_HELP } from './options.js';

interface VerifyFlags {
  model: string;
  reference?: string;
  atol: number;
  rtol: number;
  json?: boolean;
  download?: boolean;
  device?: string;
}

async function verify(flags: VerifyFlags): Promise<void> {
  const model = await HookedTransformer.load(flags.model, { download: flags.download, device: flags.device });
  const referencePath = path.resolve(flags.reference ?? path.join(model.source.dir, 'reference.safetensors'));
  if (!existsSync(referencePath)) {
    throw new FileFormatError(`reference file ${referencePath} does not exist`, 'pass --reference FILE (a reference.safetensors with input_ids and hook tensors)');
  }
  const report = await compareReference(model, openSafetensors(referencePath), { atol: flags.atol, rtol: flags.rtol });
  const greedyRef = readGreedyReference(model.source.dir);
  const greedy = greedyRef ? await compareGreedy(model, greedyRef) : null;
  await model.dispose();
  const pass = report.pass && (greedy?.pass ?? true);
  if (flags.json) {
    printJson({
      hooks: report.hooks.map((h) => ({ name: h.name, max_abs: h.maxAbs, pass: h.pass })),
      skipped: report.skipped,
      first_failure: report.firstFailure,
      greedy: greedy ? { pass: greedy.pass, first_mismatch: greedy.firstMismatch, expected: greedy.expected, got: greedy.got } : null,
      pass,
    });
  } else {
    const width = Math.max(...report.hooks.map((h) => h.name.length));
    for (const h of report.hooks) process.stdout.write(`${h.name.padEnd(width)}  max|diff| ${h.maxAbs.toExponential(2)}  ${h.pass ? 'pass' : 'FAIL'}\n`);
    if (report.skipped.length) process.stdout.write(`not hooks, not compared: ${report.skipped.join(', ')}\n`);
    process.stdout.write(report.firstFailure ? `first diverging hook: ${report.firstFailure}\n` : `all ${report.hooks.length} tensors within atol ${flags.atol}, rtol ${flags.rtol}\n`);
    if (greedy) {
      process.stdout.write(greedy.pass
        ? `greedy.json: all ${greedy.expected.length} generated ids match\n`
        : `greedy.json: first mismatch at generated token ${greedy.firstMismatch} (expected ${greedy.expected[greedy.firstMismatch ?? 0]}, got ${greedy.got[greedy.firstMismatch ?? 0]})\n`);
    }
  }
  if (!pass) process.exitCode = 1;
}

export const verifyCommand: CommandSpec = {
  name: 'verify',
  register(program: Command) {
    program
      .command('verify')
      .description('compare every hook with a reference.safetensors (and greedy ids with greedy.json)')
      .requiredOption('--model <dir>', 'model directory or hub id')
      .option('--reference <file>', 'reference tensors (default: reference.safetensors in the model directory)')
      .option('--atol <x>', 'absolute tolerance', parseNumberFlag('--atol', { min: 0 }), 1e-4)
      .option('--rtol <x>', 'relative tolerance', parseNumberFlag('--rtol', { min: 0 }), 1e-4)
      .option('--download', 'download a hub id that is not in the Hugging Face cache')
      .option(DEVICE_FLAG, DEVICE_HELP)
      .option('--json', 'print a JSON summary on stdout')
      .action(action((flags: VerifyFlags) => verify(flags)));
  },
};
