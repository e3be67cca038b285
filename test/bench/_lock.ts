/**
 * One benchmark at a time: every benchmark holds `flock /tmp/interp-bench.lock` while it
 * measures, since two of them on a 2-core machine would measure each other.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

export const LOCK_FILE = path.join(os.tmpdir(), 'interp-bench.lock');

/** Holds the lock until the returned function is called (or this process dies); `bench` names the waiter in messages. */
export async function acquireBenchLock(bench: string): Promise<() => void> {
  const holder = spawn('flock', [LOCK_FILE, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = setTimeout(() => console.error(`${bench} bench: waiting for ${LOCK_FILE} (another benchmark is running)…`), 1000);
  const got = await new Promise<boolean>((resolve) => {
    holder.on('error', () => resolve(false));
    holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve(true));
    holder.on('exit', () => resolve(false));
  });
  clearTimeout(waiting);
  if (!got) {
    console.error(`${bench} bench: warning: could not take ${LOCK_FILE} (no flock?); do not run two benchmarks at once`);
    return () => {};
  }
  return () => holder.stdin.end();
}
