/**
 * What a probe reads from a capture. The labelled-row and hook readers live in the store
 * (src/store/labelled.ts) and are re-exported here for probes' modules; this file adds the hook
 * list of a probe run and the capture's identity.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UnknownHookError } from '../src/errors.js';
import { MANIFEST_FILE, type Capture } from '../src/store/index.js';

export { gatherRows, hookWidth, readHook, readLabelledRows, type ClassValue, type LabelledRows } from '../src/store/index.js';

/** Full hook names for `requested` (all captured hooks when undefined); refuses hooks the capture lacks. */
export function resolveCaptureHooks(capture: Capture, requested: readonly string[] | undefined): string[] {
  if (!requested || requested.length === 0) return capture.hooks.map((h) => h.name);
  return requested.map((name) => {
    try {
      return capture.hook(name);
    } catch (error) {
      if (!(error instanceof UnknownHookError)) throw error;
      throw new UnknownHookError(
        `${capture.dir}: hook "${name}" is not in this capture (captured: ${capture.hooks.map((h) => h.name).join(', ')})`,
        'pass --hooks with captured hooks only, or capture this hook first (`interp capture --hooks ...`)',
      );
    }
  });
}

/** sha256 of a capture's manifest.json bytes: the capture's identity in probe.json. */
export function manifestHash(captureDir: string): string {
  return createHash('sha256').update(readFileSync(path.join(captureDir, MANIFEST_FILE))).digest('hex');
}
