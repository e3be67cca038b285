/** `interp hooks`: the hook points of a model with their shapes (the same table as src/runtime/hooks.ts). */
import type { Command } from 'commander';
import { hookDims } from '../runtime/build.js';
import { HookedTransformer } from '../runtime/model.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';

async function run(flags: { model: string; json?: boolean; download?: boolean }): Promise<void> {
  const model = await HookedTransformer.load(flags.model, { download: flags.download });
  const rows = model.hookPoints.map((p) => ({ name: p.name, shape: hookDims(p, model.config), where: p.where }));
  await model.dispose();
  if (flags.json) {
    printJson({ model: model.source.dir, family: model.family.name, hooks: rows });
    return;
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  const shapeWidth = Math.max(...rows.map((r) => `[${r.shape.join(', ')}]`.length));
  for (const r of rows) process.stdout.write(`${r.name.padEnd(width)}  ${`[${r.shape.join(', ')}]`.padEnd(shapeWidth)}  ${r.where}\n`);
}

export const hooksCommand: CommandSpec = {
  name: 'hooks',
  register(program: Command) {
    program
      .command('hooks')
      .description('list the hook points of a model with their shapes')
      .requiredOption('--model <dir>', 'model directory or hub id')
      .option('--download', 'download a hub id that is not in the Hugging Face cache')
      .option('--json', 'print JSON on stdout')
      .action(action((flags: { model: string; json?: boolean; download?: boolean }) => run(flags)));
  },
};
