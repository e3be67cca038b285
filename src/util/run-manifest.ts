/**
 * The one writer of a run directory's manifest.json (DESIGN: every run directory records model,
 * hash, hooks, dataset, seed, versions and the command line). Every manifest carries `format`
 * (what kind of run directory, e.g. `interp.probe-sweep`) and `format_version`, which readers check,
 * plus the versions of interp, onnxruntime and Node and when it was written.
 */
import * as path from 'node:path';
import { versions } from '../versions.js';
import { writeFileAtomic } from './atomic-write.js';

export const RUN_MANIFEST_FILE = 'manifest.json';

/** What a run manifest must say; any other field is the run's own. */
export interface RunManifestFields {
  /** The kind of run directory, e.g. `interp.sae-run`. */
  readonly format: string;
  readonly format_version: number;
  /** The command line that made the run (`interp …`), or how the library was called. */
  readonly command: readonly string[];
  readonly [field: string]: unknown;
}

export type RunManifest = RunManifestFields & { readonly versions: ReturnType<typeof versions>; readonly created: string };

/** Writes `dir`/manifest.json atomically, adding versions and the time; returns what it wrote. */
export function writeRunManifest(dir: string, fields: RunManifestFields): RunManifest {
  const manifest: RunManifest = { ...fields, versions: versions(), created: new Date().toISOString() };
  writeFileAtomic(path.join(dir, RUN_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
