/** Spawns `interp` from source in a child process and returns its exit code and output. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './fixtures.js';

/** The CLI entry tests run under tsx (`node --import tsx CLI_ENTRY ...`). */
export const CLI_ENTRY = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): CliResult {
  const out = spawnSync(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs });
  return { code: out.status ?? -1, stdout: out.stdout, stderr: out.stderr };
}
