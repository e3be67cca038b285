/**
 * manifest.json of a train-probe run directory: what was probed (capture, model, label), with
 * which settings, and the layer table — so a run directory explains itself like a capture does.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { writeRunManifest } from '../src/util/run-manifest.js';
import type { Capture } from '../src/store/index.js';
import type { ProbeKind, ProbeMetrics } from './artifact.js';
import { manifestHash } from './data.js';

export const SWEEP_FORMAT = 'interp.probe-sweep';
export const SWEEP_FORMAT_VERSION = 1;

/** The settings recorded beside the layer table. */
export interface SweepSettings {
  readonly label: string;
  readonly kind: ProbeKind;
  readonly split: number;
  readonly seed: number;
  readonly command: readonly string[];
}

/** Writes `<out>/manifest.json` atomically. */
export function writeSweepManifest(out: string, capture: Capture, layers: readonly { hook: string; metrics: ProbeMetrics; path: string | null }[], settings: SweepSettings): void {
  mkdirSync(out, { recursive: true });
  const m = capture.manifest;
  writeRunManifest(out, {
    format: SWEEP_FORMAT,
    format_version: SWEEP_FORMAT_VERSION,
    capture: { dir: path.resolve(capture.dir), manifest_sha256: manifestHash(capture.dir) },
    model: { id: m.model.id, hash: m.model.hash, revision: m.model.revision, weights: m.model.weights },
    ...settings,
    command: [...settings.command],
    layers: layers.map((l) => ({ hook: l.hook, path: l.path ? path.relative(path.resolve(out), l.path) : null, ...l.metrics })),
  });
}
