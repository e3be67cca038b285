/**
 * The activation store: capture directories of Arrow IPC shards plus manifest.json, written by
 * CaptureWriter, read with bounded memory by openCapture, exported for SAELens by exportHfDatasets.
 */
export { CaptureWriter, NonFiniteActivationError, StoreWriteError, type CaptureBatch, type CaptureWriterOptions, type ResumePoint } from './writer.js';
export { Capture, openCapture, type BatchOptions, type CaptureRows, type LabelArray } from './reader.js';
export { type ShuffleOptions, type ShuffledRows } from './shuffle.js';
export { exportHfDatasets, type HfExportOptions, type HfExportResult } from './export-hf.js';
export { type HookStats } from './stats.js';
export type { LabelValue } from './columns.js';
export {
  CAPTURE_FORMAT,
  CAPTURE_FORMAT_VERSION,
  MANIFEST_FILE,
  identityOf,
  parseManifest,
  type CaptureDtype,
  type CaptureHeader,
  type CaptureIdentity,
  type CaptureManifest,
  type DatasetInfo,
  type HookSpec,
  type HookSums,
  type JsonValue,
  type LabelColumn,
  type LabelType,
  type ModelInfo,
  type ShardEntry,
} from './manifest.js';
export { gatherRows, hookWidth, readHook, readLabelledRows, type ClassValue, type LabelledRows } from './labelled.js';
