/** Resolves a --dataset argument: a file (JSONL or text), or a generated set such as `tinyworld:mood`. */
import { TINYWORLD_PREFIX, tinyworldDataset } from '../../datasets/tinyworld/index.js';
import { parseDataset, readDatasetFile } from '../dataset/load.js';
import type { Dataset } from '../dataset/load.js';

export function resolveDataset(arg: string): Dataset {
  if (arg.startsWith(TINYWORLD_PREFIX)) return parseDataset(tinyworldDataset(arg).join('\n'), arg, 'jsonl');
  return readDatasetFile(arg);
}
