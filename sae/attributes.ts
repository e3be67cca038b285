/**
 * SAE latents against known attributes. For each attribute value a labeler knows at every token
 * (on TinyWorld: mood=happy, species=cat, place=river, food=cheese, negated=true, ...), the latent
 * whose firing best predicts it: "latent l fires" (f_l > threshold) is scored as a classifier of
 * "attribute a holds at this token" over every counted token of a held-out capture, and the
 * latent with the highest F1 is reported with its precision and recall.
 *
 *   precision = TP / fires,  recall = TP / positives,  F1 = 2·TP / (fires + positives)
 *
 * Counts come from one streaming pass (dashboard-scan.ts): per token, each active latent is
 * crossed with each attribute that holds, so the cost is tokens × L0 × attributes-per-token.
 *
 * Shapes: A = attributes, m = d_sae.
 */
import { UsageError } from '../src/errors.js';
import { scanCapture, type ScanObserver, type ScanOptions, type SequenceLatents } from './dashboard-scan.js';
import type { Sae } from './sae.js';

/** Says which attributes hold at each token of a sequence. */
export interface TokenLabeler {
  /** Shown in reports, e.g. "tinyworld". */
  readonly name: string;
  /** Heading of its table in reports, e.g. "Story state". */
  readonly title?: string;
  /** One sentence on what "attribute holds at a token" means here, shown above the table. */
  readonly description?: string;
  /** Every attribute the labeler can report, in display order ("mood=happy", ...). */
  readonly attributes: readonly string[];
  /**
   * Indices into `attributes` that hold at each token of one sequence (tokens as the capture
   * stores them, BOS included), or null when the sequence cannot be labelled (it is skipped).
   */
  label(tokens: readonly string[]): (readonly number[])[] | null;
}

/** The best latent for one attribute. */
export interface AttributeMatch {
  readonly attribute: string;
  /** Best latent by F1 (lowest index on ties), or null when the attribute never holds or no latent fires with it. */
  readonly latent: number | null;
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
  /** Tokens where the attribute holds. */
  readonly positives: number;
  /** Tokens where the best latent fires. */
  readonly fires: number;
  readonly truePositives: number;
}

export interface AttributeReport {
  readonly labeler: string;
  /** The labeler's title and description, when it has them. */
  readonly title?: string;
  readonly description?: string;
  /** Tokens scored (counted tokens of labelled sequences). */
  readonly tokens: number;
  readonly sequences: number;
  /** Sequences the labeler could not label, left out. */
  readonly skippedSequences: number;
  readonly threshold: number;
  readonly matches: readonly AttributeMatch[];
}

/** Accumulates true-positive, firing and positive counts over sequences; a ScanObserver. */
export class AttributeCounter implements ScanObserver {
  private readonly tp: Float64Array;
  private readonly fires: Float64Array;
  private readonly positives: Float64Array;
  private tokens = 0;
  private sequences = 0;
  private skipped = 0;

  constructor(readonly labeler: TokenLabeler, readonly dSae: number, readonly threshold = 0) {
    this.tp = new Float64Array(labeler.attributes.length * dSae);
    this.fires = new Float64Array(dSae);
    this.positives = new Float64Array(labeler.attributes.length);
  }

  sequence(s: SequenceLatents): void {
    const labels = this.labeler.label(s.tokens);
    if (labels === null || labels.length !== s.tokens.length) {
      this.skipped++;
      return;
    }
    this.sequences++;
    const m = this.dSae;
    for (let t = 0; t < s.rows.length; t++) {
      if (!s.counted[t]) continue;
      this.tokens++;
      const held = labels[t];
      for (const a of held) this.positives[a]++;
      const { idx, val } = s.rows[t];
      for (let k = 0; k < idx.length; k++) {
        if (!(val[k] > this.threshold)) continue;
        const l = idx[k];
        this.fires[l]++;
        for (const a of held) this.tp[a * m + l]++;
      }
    }
  }

  result(): AttributeReport {
    return {
      labeler: this.labeler.name, ...(this.labeler.title ? { title: this.labeler.title } : {}), ...(this.labeler.description ? { description: this.labeler.description } : {}), tokens: this.tokens, sequences: this.sequences, skippedSequences: this.skipped, threshold: this.threshold,
      matches: bestMatches(this.labeler.attributes, this.tp, this.fires, this.positives),
    };
  }
}

/** For each attribute a, the latent maximising F1 = 2·TP[a, l] / (fires[l] + positives[a]). */
export function bestMatches(attributes: readonly string[], tp: Float64Array, fires: Float64Array, positives: Float64Array): AttributeMatch[] {
  const m = fires.length;
  return attributes.map((attribute, a) => {
    let best = -1;
    let bestF1 = 0;
    for (let l = 0; l < m; l++) {
      const t = tp[a * m + l];
      if (t === 0) continue;
      const f1 = (2 * t) / (fires[l] + positives[a]);
      if (f1 > bestF1) [best, bestF1] = [l, f1];
    }
    if (best < 0) return { attribute, latent: null, f1: 0, precision: 0, recall: 0, positives: positives[a], fires: 0, truePositives: 0 };
    const t = tp[a * m + best];
    return { attribute, latent: best, f1: bestF1, precision: t / fires[best], recall: t / positives[a], positives: positives[a], fires: fires[best], truePositives: t };
  });
}

export interface MatchAttributesOptions extends ScanOptions {
  /** A latent fires where f > threshold (default 0). */
  readonly threshold?: number;
}

/** Scans a (held-out) capture and matches every attribute of `labeler` to its best latent. */
export async function matchAttributes(sae: Sae, captureDir: string, labeler: TokenLabeler, options: MatchAttributesOptions = {}): Promise<AttributeReport> {
  const counter = new AttributeCounter(labeler, sae.cfg.d_sae, options.threshold ?? 0);
  await scanCapture(sae, captureDir, { ...options, topK: 0, reservoir: 0, observers: [...(options.observers ?? []), counter] });
  const report = counter.result();
  if (report.sequences === 0) {
    throw new UsageError(`${captureDir}: ${labeler.name} could not label any of its ${report.skippedSequences} sequences`, `capture a dataset the ${labeler.name} labeler knows, at every position (capture's positions "all")`);
  }
  return report;
}

/**
 * Labelers a dataset provides for the captures made from it: `matches` sees the capture's
 * dataset path (manifest.json `dataset.path`, e.g. `tinyworld:corpus`), and `labelers` are keyed
 * as attributes.json stores their reports. The CLI registers providers at start-up
 * (datasets/tinyworld/providers.ts registers TinyWorld's); sae/ knows none of them.
 */
export interface LabelerProvider {
  readonly name: string;
  matches(datasetPath: string): boolean;
  readonly labelers: Readonly<Record<string, TokenLabeler>>;
}

const LABELER_PROVIDERS: LabelerProvider[] = [];

/** Registers a dataset's token labelers; a provider name registered twice keeps the first. */
export function registerTokenLabelers(provider: LabelerProvider): void {
  if (!LABELER_PROVIDERS.some((p) => p.name === provider.name)) LABELER_PROVIDERS.push(provider);
}

/** The labelers for a capture of `datasetPath` (by report key), or null when no provider knows the dataset. */
export function labelersFor(datasetPath: string): Readonly<Record<string, TokenLabeler>> | null {
  return LABELER_PROVIDERS.find((p) => p.matches(datasetPath))?.labelers ?? null;
}
