/**
 * Sparse autoencoders: the library API. Train on a capture, evaluate on held-out sequences,
 * save and load in the SAELens layout (and import sparsify and Gemma Scope checkpoints).
 *
 *   const capture = openCapture('runs/tinyworld-capture');
 *   const run = await trainSae({ capture, hook: 'blocks.1.hook_resid_post', out: 'runs/sae', config: { variant: 'topk', dSae: 4096, k: 32 } });
 *   const metrics = await evaluateSae(run.sae, capture, { sequences: run.heldOut });
 *   saveSae('runs/sae', run.sae, { sparsity: metrics.log10Density });
 *   const { sae } = loadSae('runs/sae');          // SAELens, sparsify or Gemma Scope
 */
export { checkSae, encodeReference, decodeReference, type Sae, type SaeArchitecture, type SaeConfig, type SaeMetadata, type SaeWeights } from './sae.js';
export { SAE_VARIANTS, trainConfig, savedArchitecture, unitNormDecoder, defaultSparsityCoefficient, sparsityAt, type SaeVariant, type TrainConfig, type TrainConfigInput } from './config.js';
export { trainSae, checkpointDir, type TrainSaeOptions, type TrainSaeResult, type TrainProgress } from './trainer.js';
export { evaluateSae, histogram, type EvaluateOptions, type SaeMetrics, type DensityHistogram } from './metrics.js';
export { saveSae, loadSae, importSae, detectLayout, log10Density, writeSaeFiles, SAE_LENS_VERSION, type LoadedSae, type SaeLayout } from './io.js';
export { uploadSae, disposeGpuSae, encode, decode, preActivations, type GpuSae, type Encoded } from './gpu-sae.js';
export { heldOutSequences, heldOutRows } from './split.js';
export { foldToSae, initialParams, type HostParams, type SaeParams } from './params.js';
export { referenceStep, type Params64, type RefStepOptions, type RefStepResult } from './reference-train.js';
export { readNpz, parseNpy, type NpyArray } from './npz.js';
export { matchAttributes, bestMatches, labelersFor, registerTokenLabelers, AttributeCounter, type AttributeMatch, type AttributeReport, type LabelerProvider, type TokenLabeler } from './attributes.js';
export { saveSaeRun, SAE_RUN_FORMAT, SAE_RUN_FILES, type SaeRun, type SaeRunSummary } from './run-files.js';
