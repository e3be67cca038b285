/**
 * Shared by the kill -9 tests: start `interp` from source as a child process, watch its output
 * directory, and SIGKILL it the moment a chosen state appears (plus a seeded delay).
 *
 * Kill points are found by polling the directory rather than by wall time alone, so that a trial
 * lands where it was aimed (before the first shard, while a temporary file exists, after the k-th
 * checkpoint …) however loaded the machine is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../helpers/fixtures.js';

const ENTRY = fileURLToPath(new URL('../helpers/cli-entry.ts', import.meta.url));

/** `interp ARGS` from source under tsx, output discarded except stderr (kept for messages). */
export function spawnInterp(args: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { err += s; });
  return { child, stderr: () => err };
}

/** Names in `dir`, or [] while it does not exist. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export interface KillOutcome {
  /** True when SIGKILL ended the process; false when it exited on its own first. */
  readonly killed: boolean;
  /** Exit code when it exited on its own. */
  readonly code: number | null;
  /** Milliseconds from spawn to the kill (or the exit). */
  readonly ms: number;
}

/**
 * Polls `ready()` every millisecond or so; once it holds, waits `delayMs` and sends SIGKILL.
 * Returns how the child ended. Throws when `ready()` never holds within `timeoutMs`.
 */
export async function killWhen(child: ChildProcess, ready: () => boolean, delayMs: number, timeoutMs = 60_000): Promise<KillOutcome> {
  const started = performance.now();
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) => child.on('exit', (code, signal) => { exit = { code, signal }; resolve(); }));
  while (exit === null && !ready()) {
    if (performance.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`kill point never reached within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (exit === null && delayMs > 0) await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, delayMs))]);
  const ms = performance.now() - started;
  if (exit === null) child.kill('SIGKILL');
  await exited;
  const e = exit as unknown as { code: number | null; signal: NodeJS.Signals | null };
  return { killed: e.signal === 'SIGKILL', code: e.code, ms };
}

/** `interp ARGS` to completion (asynchronously, so the test's timers keep running). */
export async function runInterp(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** Runs `tasks` with at most `width` in flight; results in task order. */
export async function inPool<T>(tasks: readonly (() => Promise<T>)[], width: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return results;
}
