/**
 * The `interp` command line. Every subcommand is a CommandSpec listed in COMMANDS; adding one is
 * a new module plus one line here. Nothing below this file knows about the command line.
 */
import { Command } from 'commander';
import { probeCommand, trainProbeCommand } from '../probes/command.js';
import { captureCommand } from './cli/capture.js';
import type { CommandSpec } from './cli/command.js';
import { demoCommand } from './cli/demo.js';
import { doctorCommand } from './cli/doctor.js';
import { exportCommand } from './cli/export.js';
import { generateCommand } from './cli/generate.js';
import { hooksCommand } from './cli/hooks.js';
import { reportCommand } from './cli/report.js';
import { verifyCommand } from './cli/verify.js';
import { InterpError } from './errors.js';
import { registerProviders } from './cli/providers.js';
import { steerCommand } from '../steering/cli/steer.js';
import { vectorCommand } from '../steering/cli/vector.js';
import { saeCommand, trainSaeCommand } from '../sae/cli.js';

const COMMANDS: readonly CommandSpec[] = [
  verifyCommand,
  generateCommand,
  hooksCommand,
  captureCommand,
  exportCommand,
  doctorCommand,
  trainProbeCommand, probeCommand,
  trainSaeCommand, saeCommand,
  vectorCommand, steerCommand,
  reportCommand, demoCommand,
];

export function buildProgram(): Command {
  registerProviders();
  const program = new Command('interp')
    .description('Mechanistic interpretability for TypeScript and Node: hooked transformer runtime, activation capture, probes, sparse autoencoders, steering.')
    .showHelpAfterError();
  for (const command of COMMANDS) command.register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  // `interp … | head`: the reader has gone, so stop quietly (as head's other writers do) instead
  // of dying on an unhandled EPIPE with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    // Option parsers run before any action, so their UsageErrors arrive here.
    if (!(error instanceof InterpError)) throw error;
    process.stderr.write(`interp: ${error.message}\n`);
    process.exitCode = error.exitCode;
  }
}
