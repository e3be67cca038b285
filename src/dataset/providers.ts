/**
 * Named datasets: generated or packaged record sets a user names instead of a file (`--dataset
 * tinyworld:mood`, `--pairs tinyworld:pairs-happy-sad`). A dataset registers a provider for its
 * prefix; the CLI registers them at start-up (src/cli/providers.ts), and capture, vector and steer
 * resolve names through here without knowing any dataset.
 */
import { UsageError } from '../errors.js';

export interface NamedDatasetProvider {
  /** E.g. `tinyworld:`; every name the provider serves starts with it. */
  readonly prefix: string;
  /** Every full name it serves, for messages. */
  readonly names: readonly string[];
  /** The dataset's JSONL lines (one record each); throws a UsageError for a name it does not have. */
  lines(name: string): string[];
}

const PROVIDERS: NamedDatasetProvider[] = [];

/** Registers a provider; a prefix registered twice keeps the first. */
export function registerDatasetProvider(provider: NamedDatasetProvider): void {
  if (!PROVIDERS.some((p) => p.prefix === provider.prefix)) PROVIDERS.push(provider);
}

/** The provider whose prefix `arg` starts with, or null (then `arg` is a file path). */
export function datasetProviderFor(arg: string): NamedDatasetProvider | null {
  return PROVIDERS.find((p) => arg.startsWith(p.prefix)) ?? null;
}

/** The JSONL lines of a named dataset; a prefix nobody serves is a UsageError listing the known names. */
export function namedDatasetLines(arg: string): string[] {
  const provider = datasetProviderFor(arg);
  if (!provider) {
    const known = PROVIDERS.flatMap((p) => p.names);
    throw new UsageError(`no dataset named ${arg}`, known.length ? `named datasets: ${known.join(', ')}` : 'pass a JSONL or text file');
  }
  return provider.lines(arg);
}
