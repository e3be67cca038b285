/**
 * Seed bases of TinyWorld's story sets. Story i of a set is generated from storySeed(base, i), so
 * the sets never share a story by construction of the seeds, and each set is reproducible alone.
 */
import { mixSeed } from './process.js';

export const SEEDS = {
  /** Training corpus of the committed model (.data/train.bin). */
  train: 1,
  /** Held-out stories for loss against true entropy (.data/heldout.bin). */
  heldout: 2,
  /** Probe sets, pairs, neutral text and the SAE corpus (tinyworldDataset). */
  datasets: 3,
  /** Tests. */
  tests: 4,
} as const;

export function storySeed(base: number, index: number): number {
  return mixSeed(base, index);
}
