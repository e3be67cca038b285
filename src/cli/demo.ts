/** `interp demo`: the whole toolkit on the embedded TinyWorld model, ending in an overview page. */
import type { Command } from 'commander';
import { TINYWORLD_MODEL_DIR } from '../../datasets/tinyworld/index.js';
import { headlineRows } from '../demo/overview.js';
import { runDemo } from '../demo/run.js';
import type { DemoScale } from '../demo/stages.js';
import { UsageError } from '../errors.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';

interface DemoFlags {
  out: string;
  quick?: boolean;
  json?: boolean;
}

async function demo(flags: DemoFlags): Promise<void> {
  if (flags.out.trim() === '') throw new UsageError('--out is empty', 'pass a folder for the demo, e.g. --out interp-demo');
  const scale: DemoScale = flags.quick ? 'quick' : 'full';
  const result = await runDemo({
    model: TINYWORLD_MODEL_DIR, out: flags.out, scale,
    onStage: (stage, i, n, skipped) => process.stderr.write(`\n[${i}/${n}] ${stage.title}${skipped ? ' — done in an earlier run, skipped' : ''}\n`),
  });
  if (flags.json) {
    printJson({ overview: result.overview, out: flags.out, seconds: result.seconds, stages: result.state.stages });
    return;
  }
  const table = headlineRows(result.state);
  const width = Math.max(...table.map(([k]) => k.length));
  process.stdout.write(`\n${table.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`);
  process.stdout.write(`\ndemo finished in ${(result.seconds / 60).toFixed(1)} min; every output is under ${flags.out}\noverview: ${result.overview}\n`);
}

export const demoCommand: CommandSpec = {
  name: 'demo',
  register(program: Command) {
    program
      .command('demo')
      .description('capture, probe, train an SAE and steer on the embedded TinyWorld model; writes every report and an overview page')
      .option('--out <dir>', 'demo folder (created; an interrupted demo there resumes)', 'interp-demo')
      .option('--quick', 'a one-minute run with small budgets (for smoke tests; the figures are weak)')
      .option('--json', 'print the stages\' JSON summaries and the overview path on stdout')
      .action(action((flags: DemoFlags) => demo(flags)));
  },
};
