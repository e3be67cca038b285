/** `interp export`: a capture in another ecosystem's layout (Hugging Face datasets, which SAELens reads). */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { exportHfDatasets } from '../store/index.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';
import { parseNumberFlag } from './options.js';

interface ExportFlags {
  format: string;
  hook: string;
  context?: number;
  dropRemainder?: boolean;
  json?: boolean;
}

function run(dir: string, out: string, flags: ExportFlags): void {
  if (flags.format !== 'hf-datasets') throw new UsageError(`--format ${flags.format} is not supported`, 'use --format hf-datasets (the layout datasets.load_from_disk and SAELens read)');
  const result = exportHfDatasets(dir, flags.hook, out, { ...(flags.context ? { context: flags.context } : {}), dropRemainder: flags.dropRemainder === true });
  if (flags.json) printJson(result);
  else process.stdout.write(`wrote ${result.rows} rows of [${result.context}, ${result.d}] to ${result.outDir} (${result.files.length} file(s)${result.droppedTokens ? `, ${result.droppedTokens} tokens dropped` : ''})\n`);
}

export const exportCommand: CommandSpec = {
  name: 'export',
  register(program: Command) {
    program
      .command('export')
      .description('write a capture in another layout (hf-datasets: what SAELens reads as cached activations)')
      .argument('<dir>', 'capture directory')
      .argument('<out>', 'output directory (must not exist or be empty)')
      .requiredOption('--hook <name>', 'hook to export')
      .option('--format <format>', 'hf-datasets', 'hf-datasets')
      .option('--context <n>', 'tokens per exported row (default: the capture context)', parseNumberFlag('--context', { min: 1, integer: true }))
      .option('--drop-remainder', 'drop each sequence\'s last (length mod context) tokens instead of refusing')
      .option('--json', 'print a JSON summary on stdout')
      .action(action((dir: string, out: string, flags: ExportFlags) => run(dir, out, flags)));
  },
};
