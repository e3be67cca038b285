/**
 * The `interp` command line. Every subcommand is a CommandSpec listed in COMMANDS; adding one is
 * a new module plus one line here. Nothing below this file knows about the command line.
 */
import { Command } from 'commander';
import type { CommandSpec } from './cli/command.js';

const COMMANDS: readonly CommandSpec[] = [];

export function buildProgram(): Command {
  const program = new Command('interp')
    .description('Mechanistic interpretability for TypeScript and Node: hooked transformer runtime, activation capture, probes, sparse autoencoders, steering.')
    .showHelpAfterError();
  for (const command of COMMANDS) command.register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync([...argv]);
}
