import { InterpError } from '../errors.js';

/**
 * Wraps a command's action so that user errors print one clear message (no stack trace) and
 * exit non-zero, while bugs still show their stack. Every command action goes through this.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      if (error instanceof InterpError) {
        process.stderr.write(`interp: ${error.message}\n`);
        process.exitCode = error.exitCode;
        return;
      }
      throw error;
    }
  };
}

/** Prints a machine-readable result on stdout (the `--json` contract: one JSON document). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
