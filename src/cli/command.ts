import type { Command } from 'commander';

/**
 * One `interp` subcommand. Commands are data: each module exports a CommandSpec, and
 * src/cli.ts lists them. `register` adds the subcommand (its options and action) to the program.
 */
export interface CommandSpec {
  /** The subcommand's name as typed: `interp <name>`. */
  readonly name: string;
  /** Adds the subcommand to `program`; its action should be wrapped with `action()` from ./action.js. */
  readonly register: (program: Command) => void;
}
