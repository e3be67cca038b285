/**
 * Dawn writes informational warnings straight to file descriptor 2 from native code while it
 * enumerates adapters ("maxDynamicUniformBuffersPerPipelineLayout artificially reduced from
 * 1000000 to 16 …", twice on every adapter request), which no JavaScript stream sees. To keep
 * every GPU command's stderr to what the user needs, the synchronous part of such a call runs with
 * fd 2 pointed at a temporary file; afterwards everything but the known informational lines is
 * written back to the real stderr, so a real Dawn error still shows.
 *
 * Linux only (it reopens stderr through /proc/self/fd); elsewhere, or when stderr cannot be
 * reopened (a socket: what Node's child_process gives a child with piped stdio), `fn` runs
 * unfiltered. INTERP_DAWN_WARNINGS=1 shows the warnings.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Dawn's informational lines about limits it lowers to fit its own allocation scheme. */
export const DAWN_INFORMATIONAL: readonly RegExp[] = [/^Warning: maxDynamic\w+ artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/];

/** Runs `fn` (synchronously) with native writes to fd 2 filtered through `drop`. */
export function filterNativeStderr<T>(fn: () => T, drop: readonly RegExp[] = DAWN_INFORMATIONAL): T {
  if (process.platform !== 'linux' || process.env.INTERP_DAWN_WARNINGS === '1') return fn();
  let saved: number;
  try {
    saved = fs.openSync('/proc/self/fd/2', 'a');
  } catch {
    return fn();
  }
  const capture = path.join(os.tmpdir(), `interp-stderr-${process.pid}-${Date.now()}.log`);
  let swapped = false;
  try {
    fs.closeSync(2);
    const fd = fs.openSync(capture, 'w+'); // the lowest free descriptor: 2
    swapped = fd === 2;
    if (!swapped) {
      fs.closeSync(fd);
      restore(saved);
      return fn();
    }
    return fn();
  } finally {
    if (swapped) {
      fs.closeSync(2);
      restore(saved);
      const text = fs.readFileSync(capture, 'utf8');
      const kept = text.split('\n').filter((line) => line !== '' && !drop.some((re) => re.test(line)));
      if (kept.length > 0) fs.writeSync(2, `${kept.join('\n')}\n`);
    }
    fs.rmSync(capture, { force: true });
    fs.closeSync(saved);
  }
}

/** Points fd 2 back at what `saved` refers to (open returns the lowest free descriptor, 2). */
function restore(saved: number): void {
  const fd = fs.openSync(`/proc/self/fd/${saved}`, 'a');
  if (fd !== 2) fs.closeSync(fd); // fd 2 was never freed: nothing to restore
}
