/**
 * Steering: library API. Make a vector (contrastive pairs → mean difference or uncentred PCA, a
 * probe direction, an SAE decoder row, a random control), save and load it (vector.safetensors +
 * vector.json), compile interventions (add c·v, directional ablation, SAE-latent clamp) for the
 * runtime, and compare baseline and steered generations with their cost (runSteer). The CLI
 * commands `vector` and `steer` are registered from ./cli/.
 *
 *   const model = await HookedTransformer.load('datasets/tinyworld/model');
 *   const diffs = await pairDifferences(model, 'resid_post.3', pairs, { kind: 'from-first-difference' });
 *   const v = meanDifference(diffs);
 *   const ivs = compileIntervention({ kind: 'add', hooks: ['blocks.3.hook_resid_post'], vector: v, scale: 4, positions: { kind: 'all' } }, promptLengths);
 *   const out = await generate(model, prompts, { maxNewTokens: 40, interventions: ivs });
 */
export { loadVector, loadVectors, saveVector, vectorNorm, VECTOR_FORMAT, VECTOR_FORMAT_VERSION, VECTOR_JSON, VECTOR_WEIGHTS, type SteeringVector, type VectorJson, type VectorMethod, type VectorProvenance, type ReadPosition } from './vector.js';
export { pairDifferences, pooledActivations, meanDifference, firstPrincipalComponent, randomVector, decoderRow, readIndices, parseReadPosition, readPositionName, type TokenPair, type PairDifferences, type PooledActivations } from './sources.js';
export { compileIntervention, clampFunction, residualWriters, positionSelector, parseCoefficient, parseSweep, parsePositions, resolveScale, coefficientName, positionsName, type Coefficient, type SteerPositions, type SteeringIntervention } from './interventions.js';
export { continuationKl, neutralCost, hookMeanNorm, type ContinuationKl, type NeutralCost } from './metrics.js';
export { parseBehavior, registerBehavior, scoreContinuations, probeTokenScores, behaviorName, type BehaviorProvider, type BehaviorSpec, type BehaviorScore, type Continuation, type TextScorer, type TokenProbe } from './behavior.js';
export { findKnee, frontier, steerability, slope, KNEE_RULE, type Knee, type SweepPoint, type Steerability } from './sweep.js';
export { runSteer, resultRow, type SteerArm, type SteerConfig, type SteerResult, type ArmResult, type CoefficientResult, type PromptOutcome, type Progress } from './steer.js';
export { loadPairs, type PairSet, type TextPair, type PairFields } from './pairs.js';
export { logitLens, cosine, nearestRows, type LogitLens, type LensToken } from './lens.js';
export { chooseProbe, probeVector, probeScorer, openSae, type ProbeChoice } from './external.js';
export { writeSteerOutputs, type SteerOutputs, type SteerOutputOptions, type VectorCard } from './output.js';
export { writeSteerReport, type SteerReportInput } from './report.js';
