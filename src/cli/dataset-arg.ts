/** Resolves a --dataset argument: a file (JSONL or text), or a named dataset such as `tinyworld:mood` (src/dataset/providers.ts). */
import { parseDataset, readDatasetFile } from '../dataset/load.js';
import type { Dataset } from '../dataset/load.js';
import { datasetProviderFor, namedDatasetLines } from '../dataset/providers.js';

export function resolveDataset(arg: string): Dataset {
  if (datasetProviderFor(arg)) return parseDataset(namedDatasetLines(arg).join('\n'), arg, 'jsonl');
  return readDatasetFile(arg);
}
