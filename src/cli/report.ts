/**
 * `interp report`: lists the reports in a reports folder and rebuilds its index.html. With
 * --rescan the registry is rebuilt from the pages themselves (each carries its entry in a meta
 * tag), e.g. after copying report folders together or deleting pages by hand.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { listReports, resolveReportsDir, scanReports, updateIndex } from '../report/index.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';

interface ReportFlags {
  reports?: string;
  rescan?: boolean;
  json?: boolean;
}

async function report(flags: ReportFlags): Promise<void> {
  const dir = resolveReportsDir(flags.reports);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: no reports folder there`, 'pass --reports DIR (a folder interp wrote reports into), or run a command that writes one first');
  if (flags.rescan) for (const entry of await scanReports(dir)) await updateIndex(dir, entry);
  else await updateIndex(dir);
  const entries = await listReports(dir);
  const index = path.join(dir, 'index.html');
  if (flags.json) {
    printJson({ reports_dir: dir, index, reports: entries.map((e) => ({ ...e, file: path.join(dir, e.path) })) });
    return;
  }
  const lines = entries.map((e) => `${e.createdAt.slice(0, 19).replace('T', ' ')}  ${e.kind.padEnd(12)} ${e.title}  ${path.join(dir, e.path)}`);
  process.stdout.write(`${lines.join('\n')}${lines.length ? '\n' : ''}${entries.length} report(s); index: ${index}\n`);
}

export const reportCommand: CommandSpec = {
  name: 'report',
  register(program: Command) {
    program
      .command('report')
      .description('list the reports in a reports folder and rebuild its index.html')
      .option('--reports <dir>', 'reports directory (default ./reports, or $INTERP_REPORTS_DIR)')
      .option('--rescan', 'rebuild the registry from the pages on disk')
      .option('--json', 'print the list as JSON on stdout')
      .action(action((flags: ReportFlags) => report(flags)));
  },
};
