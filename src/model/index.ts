/** Public API of src/model: open a checkpoint, read its tensors, tokenize, write safetensors. */

export type {
  GenerationDefaults,
  ModelSource,
  SafetensorsDtype,
  TensorInfo,
  Tokenizer,
  WeightIndex,
} from './types.js';
export { openModel, openModelDir, type HubOrigin, type OpenModelOptions } from './load.js';
export { readModelConfig, readGenerationDefaults, type ModelConfigFile } from './config.js';
export {
  MAX_HEADER_BYTES,
  readSafetensorsHeader,
  readTensorBytes,
  readTensorF32,
  readTensorInts,
  writeSafetensors,
  type SafetensorsHeader,
  type WritableTensor,
} from './safetensors.js';
export {
  CONVERT_HINT,
  openModelWeights,
  openSafetensors,
  openShardedSafetensors,
  type OpenedWeights,
} from './weights.js';
export { DTYPE_BYTES, float16BitsToNumber, float16Table, toFloat16Bits, widenToFloat32 } from './dtype.js';
export { createTokenizer, loadTokenizer, type LoadedTokenizer } from './tokenizer.js';
export {
  checkRepoFilePath,
  downloadHubModel,
  hubCacheDir,
  lookupCachedModel,
  parseHubId,
  repoCacheFolder,
  resolveHubFiles,
  resolveHubModel,
  type CacheLookup,
  type HubFilesOptions,
  type HubSpec,
  type ResolveOptions,
  type ResolvedSnapshot,
} from './hub.js';
