/** `interp capture`: run a model over a dataset and store hook activations in an Arrow capture. */
import type { Command } from 'commander';
import { runCapture } from '../capture/capture.js';
import { writeCaptureReport } from '../capture/report.js';
import { parsePositionMode } from '../capture/sequences.js';
import { UsageError } from '../errors.js';
import { HookedTransformer } from '../runtime/model.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';
import { resolveDataset } from './dataset-arg.js';
import { parseList, parseNumberFlag, DEVICE_FLAG, DEVICE_HELP } from './options.js';
import { progressBar } from './progress.js';

interface CaptureFlags {
  model: string;
  dataset: string;
  hooks: string[];
  out: string;
  positions: string;
  batchSize: number;
  maxTokens?: number;
  context?: number;
  dtype: string;
  shardRows?: number;
  seed: number;
  report: boolean;
  reports?: string;
  json?: boolean;
  download?: boolean;
  device?: string;
}

async function capture(flags: CaptureFlags): Promise<void> {
  if (flags.dtype !== 'f16' && flags.dtype !== 'f32') throw new UsageError(`--dtype ${flags.dtype}: expected f16 or f32`, 'pass --dtype f16 or --dtype f32');
  const dataset = resolveDataset(flags.dataset);
  const positions = parsePositionMode(flags.positions, dataset);
  const model = await HookedTransformer.load(flags.model, { download: flags.download, device: flags.device });
  const bar = progressBar('capture', 'tokens');
  let summary;
  try {
    summary = await runCapture({
      model, modelId: flags.model, dataset, hooks: flags.hooks, out: flags.out, positions,
      batchSize: flags.batchSize, context: flags.context ?? null, maxTokens: flags.maxTokens ?? null,
      dtype: flags.dtype, shardRows: flags.shardRows, seed: flags.seed,
      command: ['interp', ...process.argv.slice(2)], progress: bar.update,
    });
  } finally {
    bar.stop();
    await model.dispose();
  }
  const report = flags.report ? await writeCaptureReport(summary.out, { reportsDir: flags.reports }) : null;
  const m = summary.manifest;
  if (flags.json) {
    printJson({ out: summary.out, rows: m.rows, sequences: m.sequences_done, shards: m.shards.length, hooks: m.hooks.map((h) => h.name), dtype: m.dtype, resumed: summary.resumed, seconds: summary.seconds, report: report?.file ?? null });
  } else {
    process.stdout.write(`${summary.resumed ? 'resumed and completed' : 'captured'} ${m.rows} rows from ${m.sequences_done} sequences into ${summary.out} (${m.shards.length} shard(s), ${summary.seconds.toFixed(1)} s)\n`);
    if (report) process.stdout.write(`report: ${report.file}\n`);
  }
}

export const captureCommand: CommandSpec = {
  name: 'capture',
  register(program: Command) {
    program
      .command('capture')
      .description('stream hook activations of a dataset into a resumable Arrow store')
      .requiredOption('--model <dir>', 'model directory or hub id')
      .requiredOption('--dataset <file>', 'JSONL ({"text"} or {"token_ids"} per line, other fields are labels), a text file, or tinyworld:NAME')
      .requiredOption('--hooks <names>', 'comma-separated hook names (full or short, e.g. resid_post.3)', parseList)
      .requiredOption('--out <dir>', 'capture directory (created; an interrupted capture there is resumed)')
      .option('--positions <mode>', 'all, last, mean, or a label field holding the index of the token to keep (BOS counted)', 'all')
      .option('--batch-size <n>', 'sequences per forward pass', parseNumberFlag('--batch-size', { min: 1, integer: true }), 8)
      .option('--max-tokens <n>', 'stop after this many rows', parseNumberFlag('--max-tokens', { min: 1, integer: true }))
      .option('--context <n>', 'tokens per sequence: longer documents are chunked (all, mean) or truncated (last, field)', parseNumberFlag('--context', { min: 1, integer: true }))
      .option('--dtype <dtype>', 'f16 or f32', 'f32')
      .option('--shard-rows <n>', 'rows per shard (shards end at sequence boundaries)', parseNumberFlag('--shard-rows', { min: 1, integer: true }))
      .option('--seed <s>', 'recorded seed', parseNumberFlag('--seed', { integer: true }), 0)
      .option('--no-report', 'do not write the HTML report')
      .option('--reports <dir>', 'reports directory (default ./reports)')
      .option('--download', 'download a hub id that is not in the Hugging Face cache')
      .option(DEVICE_FLAG, DEVICE_HELP)
      .option('--json', 'print a JSON summary on stdout')
      .action(action((flags: CaptureFlags) => capture(flags)));
  },
};
