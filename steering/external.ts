/**
 * What steering takes from the sibling techniques, through their public modules only: a probe
 * (probes/index.ts) as a vector source, a behaviour score and a monitor; an SAE (sae/io.ts) as a
 * vector source (a decoder row), a clamp target, and the latents a vector card compares with.
 */
import { UsageError } from '../src/errors.js';
import { applyProbe, loadProbe, probeDirection } from '../probes/index.js';
import type { Probe } from '../probes/index.js';
import { loadSae } from '../sae/index.js';
import type { Sae } from '../sae/index.js';
import type { TokenProbe } from './behavior.js';

/** A probe and the class whose probability or direction is used. */
export interface ProbeChoice {
  readonly probe: Probe;
  readonly location: string;
  /** Row of the probe's weight (0 for a binary probe). */
  readonly row: number;
  /** The class that row stands for. */
  readonly label: string;
}

/**
 * Loads `DIR` or `DIR:CLASS`. A binary probe uses its positive class; a one-vs-rest probe needs
 * the class named (its row is the concept's direction).
 */
export function chooseProbe(spec: string): ProbeChoice {
  const m = /^(.*?)(?::([^:/\\]+))?$/.exec(spec) as RegExpExecArray;
  const [location, cls] = [m[1], m[2]];
  const probe = loadProbe(location);
  const classes = probe.json.label.classes.map(String);
  if (probe.k === 1) return { probe, location, row: 0, label: String(probe.json.label.positive ?? classes[classes.length - 1]) };
  if (cls === undefined || !classes.includes(cls)) throw new UsageError(`probe ${location} is one-vs-rest over ${classes.join(', ')}: name the class`, `pass ${location}:${classes[0]} (DIR:CLASS)`);
  return { probe, location, row: classes.indexOf(cls), label: cls };
}

/** The probe's direction for its class in raw activation space (mean and scale folded in). */
export function probeVector(choice: ProbeChoice): Float32Array {
  const { weight } = probeDirection(choice.probe);
  return weight.slice(choice.row * choice.probe.d, (choice.row + 1) * choice.probe.d);
}

/** A per-token scorer: the probability of the chosen class (applyProbe's definition). */
export function probeScorer(choice: ProbeChoice): TokenProbe {
  return {
    hook: choice.probe.json.hook,
    name: `${choice.location} (${choice.label})`,
    async score(x: Float32Array, n: number): Promise<Float32Array> {
      const s = await applyProbe(choice.probe, x);
      return Float32Array.from({ length: n }, (_, i) => s.scores[i * s.k + choice.row]);
    },
  };
}

/** An SAE and the hook it reads (cfg.json metadata.hook_name). */
export function openSae(location: string): { sae: Sae; hook: string } {
  const loaded = loadSae(location);
  return { sae: loaded.sae, hook: loaded.sae.cfg.metadata.hook_name };
}
