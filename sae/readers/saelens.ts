/**
 * SAELens' own layout: DIR/cfg.json + DIR/sae_weights.safetensors (+ optional sparsity.safetensors,
 * activation_scaler.json). Read as SAELens reads it (jbloomAus/SAELens 91ca16cc):
 *
 * - sae_lens/loading/pretrained_sae_loaders.py handle_config_defaulting / handle_pre_6_0_config:
 *   a config without sae_lens_version, or older than 6.0.0-rc.0, renames hook_point → hook_name,
 *   activation_fn_str → activation_fn; activation_fn "topk" with activation_fn_kwargs.k is a TopK
 *   SAE; normalize_activations false → "none", true → "expected_average_only_in", null → "none".
 * - read_sae_components_from_disk: a scaling_factor tensor of ones is dropped; any other needs
 *   finetuning_scaling_factor, which interp refuses.
 * - saes/sae.py: normalize_activations; layer_norm and constant_norm_rescale are per-row and kept;
 *   expected_average_only_in is the identity at run time, and SAE.from_pretrained folds the
 *   release's norm_scaling_factor (fold_activation_norm_scaling_factor): interp folds the one the
 *   caller passes (the registry's), or the one in activation_scaler.json
 *   (training/activation_scaler.py, {"scaling_factor": s}), and refuses when there is none.
 * - saes/topk_sae.py: rescale_acts_by_decoder_norm is folded exactly (common.ts foldDecoderNorms).
 * - saes/transcoder.py: "transcoder", "skip_transcoder", "jumprelu_transcoder" with d_out,
 *   W_dec [d_sae, d_out], W_skip [d_out, d_in]; "topk_transcoder" is interp's name for a TopK
 *   transcoder (SAELens 6.18 has no class for it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileFormatError, UsageError, describeValue } from '../../src/errors.js';
import { openSafetensors } from '../../src/model/index.js';
import { checkSae, type ActivationNormalization, type Sae, type SaeArchitecture, type SaeConfig } from '../sae.js';
import { foldDecoderNorms, foldInputScale, intField, metadataFrom, readJson, tensorOf, type ReaderOptions } from './common.js';

export const SAE_CFG_FILE = 'cfg.json';
export const SAE_WEIGHTS_FILE = 'sae_weights.safetensors';
export const ACTIVATION_SCALER_FILE = 'activation_scaler.json';

/** cfg.json `architecture` → activation, transcoder, skip term. */
const ARCHITECTURES: Readonly<Record<string, { activation: SaeArchitecture; transcoder: boolean; skip: boolean }>> = {
  standard: { activation: 'relu', transcoder: false, skip: false },
  relu: { activation: 'relu', transcoder: false, skip: false },
  topk: { activation: 'topk', transcoder: false, skip: false },
  jumprelu: { activation: 'jumprelu', transcoder: false, skip: false },
  transcoder: { activation: 'relu', transcoder: true, skip: false },
  skip_transcoder: { activation: 'relu', transcoder: true, skip: true },
  jumprelu_transcoder: { activation: 'jumprelu', transcoder: true, skip: false },
  jumprelu_skip_transcoder: { activation: 'jumprelu', transcoder: true, skip: true },
  topk_transcoder: { activation: 'topk', transcoder: true, skip: false },
  topk_skip_transcoder: { activation: 'topk', transcoder: true, skip: true },
};

/** SAELens' normalize_activations values; expected_average_only_in is folded on reading, the others kept. */
const NORMALIZATIONS: readonly (ActivationNormalization | 'expected_average_only_in')[] = ['none', 'layer_norm', 'constant_norm_rescale', 'expected_average_only_in'];

/** The name SAELens (or, for TopK transcoders, interp) writes for an in-memory dictionary. */
export function diskArchitecture(cfg: SaeConfig, skip: boolean): string {
  if (cfg.d_out === undefined) return cfg.architecture === 'relu' ? 'standard' : cfg.architecture;
  const base = cfg.architecture === 'relu' ? '' : `${cfg.architecture}_`;
  return `${base}${skip ? 'skip_' : ''}transcoder`;
}

/** SAELens ≥ 6 versions are read as written; older ones (or none) go through handle_pre_6_0_config. */
function isPre6(raw: Record<string, unknown>): boolean {
  const meta = raw.metadata && typeof raw.metadata === 'object' ? (raw.metadata as Record<string, unknown>) : {};
  const version = raw.sae_lens_version ?? meta.sae_lens_version;
  if (typeof version !== 'string' || version.length === 0) return true;
  const major = Number(version.split('.')[0]);
  return !Number.isFinite(major) || major < 6;
}

/** handle_pre_6_0_config, the parts that change what the SAE computes. */
function upgradePre6(raw: Record<string, unknown>): Record<string, unknown> {
  const renamed: Record<string, unknown> = {};
  const rename: Record<string, string> = { hook_point: 'hook_name', hook_point_head_index: 'hook_head_index', activation_fn_str: 'activation_fn' };
  for (const [k, v] of Object.entries(raw)) renamed[rename[k] ?? k] = v;
  renamed.apply_b_dec_to_input ??= true;
  renamed.architecture ??= 'standard';
  renamed.activation_fn ??= 'relu';
  const kwargs = renamed.activation_fn_kwargs && typeof renamed.activation_fn_kwargs === 'object' ? (renamed.activation_fn_kwargs as Record<string, unknown>) : {};
  if (renamed.activation_fn === 'topk' && kwargs.k !== undefined && kwargs.k !== null) {
    renamed.architecture = 'topk';
    renamed.k = kwargs.k;
  }
  if (typeof renamed.normalize_activations === 'boolean') renamed.normalize_activations = renamed.normalize_activations ? 'expected_average_only_in' : 'none';
  if (renamed.normalize_activations === null || renamed.normalize_activations === undefined) renamed.normalize_activations = 'none';
  return renamed;
}

export function readSaeLens(dir: string, options: ReaderOptions = {}): Sae {
  const cfgFile = path.join(dir, SAE_CFG_FILE);
  const original = readJson(cfgFile);
  const raw = isPre6(original) ? upgradePre6(original) : original;
  const refuse = (what: string, fix: string): never => {
    throw new UsageError(`${cfgFile}: ${what}`, fix);
  };

  const archName = String(raw.architecture ?? 'standard');
  const arch = ARCHITECTURES[archName];
  if (!arch) {
    refuse(
      `architecture ${describeValue(raw.architecture)} is not one interp reads`,
      `interp reads ${Object.keys(ARCHITECTURES).join(', ')}; gated SAEs and training checkpoints (batchtopk, matryoshka) must be converted in SAELens first (a BatchTopK SAE is saved as jumprelu for inference)`,
    );
  }
  const activationFn = raw.activation_fn;
  if (activationFn !== undefined && activationFn !== null && activationFn !== 'relu' && !(activationFn === 'topk' && arch.activation === 'topk')) {
    refuse(
      `activation_fn ${describeValue(activationFn)} with architecture ${archName}`,
      activationFn === 'tanh-relu' ? 'tanh-relu SAEs compute tanh(relu(pre)), which interp does not implement; it refuses rather than drop the tanh' : 'interp reads relu (standard, jumprelu) and topk activations',
    );
  }
  if (raw.finetuning_scaling_factor === true) refuse('finetuning_scaling_factor is true (a learned per-latent decoder scale)', 'fold it into W_dec in SAELens and save again');
  const headIndex = raw.hook_head_index ?? (raw.metadata as Record<string, unknown> | undefined)?.hook_head_index;
  if (headIndex !== undefined && headIndex !== null) refuse(`hook_head_index ${describeValue(headIndex)} (an SAE on one attention head)`, 'interp reads SAEs on whole hooks');
  const reshape = raw.reshape_activations ?? 'none';
  if (reshape !== 'none' && reshape !== 'hook_z') refuse(`reshape_activations ${describeValue(reshape)}`, 'interp reads "none" and "hook_z"');

  const d = intField(raw, 'd_in', cfgFile);
  const m = intField(raw, 'd_sae', cfgFile);
  const o = arch.transcoder ? intField(raw, 'd_out', cfgFile) : d;
  const k = arch.activation === 'topk' ? intField(raw, 'k', cfgFile) : null;
  if (arch.transcoder && raw.apply_b_dec_to_input === true) refuse('a transcoder with apply_b_dec_to_input true', 'SAELens refuses it too (TranscoderConfig): write false');

  const requested = raw.normalize_activations ?? 'none';
  const normalization =
    NORMALIZATIONS.find((n) => n === requested) ??
    refuse(`normalize_activations ${describeValue(raw.normalize_activations)}`, 'SAELens knows none, expected_average_only_in, constant_norm_rescale and layer_norm');

  const weights = openSafetensors(path.join(dir, SAE_WEIGHTS_FILE));
  const scaling = tensorOf(weights, 'scaling_factor', [m], true);
  if (scaling && scaling.some((v) => v !== 1)) refuse('sae_weights.safetensors holds a scaling_factor that is not all ones', 'fold it into W_dec in SAELens and save again');
  const cfg: SaeConfig = {
    architecture: arch.activation,
    d_in: d,
    d_sae: m,
    ...(arch.transcoder ? { d_out: o } : {}),
    k,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: arch.transcoder ? false : raw.apply_b_dec_to_input !== false,
    normalize_activations: normalization === 'expected_average_only_in' ? 'none' : normalization,
    reshape_activations: reshape as 'none' | 'hook_z',
    ...(arch.activation === 'topk' ? { rescale_acts_by_decoder_norm: false } : {}),
    metadata: metadataFrom(raw),
  };
  let sae: Sae = {
    cfg,
    weights: {
      W_enc: tensorOf(weights, 'W_enc', [d, m])!,
      W_dec: tensorOf(weights, 'W_dec', [m, o])!,
      b_enc: tensorOf(weights, 'b_enc', [m])!,
      b_dec: tensorOf(weights, 'b_dec', [o])!,
      threshold: arch.activation === 'jumprelu' ? thresholdOf(weights, m) : null,
      W_skip: arch.skip ? tensorOf(weights, 'W_skip', [o, d]) : null,
    },
  };
  checkSae(sae, dir);

  if (arch.activation === 'topk' && raw.rescale_acts_by_decoder_norm === true) sae = foldDecoderNorms(sae, cfgFile);

  const scalerFile = path.join(dir, ACTIVATION_SCALER_FILE);
  const scaler = fs.existsSync(scalerFile) ? readJson(scalerFile).scaling_factor : null;
  if (scaler !== null && scaler !== undefined) {
    if (typeof scaler !== 'number') throw new FileFormatError(`${scalerFile}: scaling_factor is ${describeValue(scaler)}`, 'expected a number or null');
    sae = foldInputScale(sae, scaler, scalerFile);
  } else if (normalization === 'expected_average_only_in') {
    if (options.normScalingFactor === undefined) {
      refuse(
        'normalize_activations is expected_average_only_in, but neither activation_scaler.json nor the release gives the scaling factor',
        'pass --norm-scaling-factor S (SAELens\' norm_scaling_factor), import it by name (interp sae import RELEASE/ID), which knows it, or fold it in SAELens and save again',
      );
    }
    sae = foldInputScale(sae, options.normScalingFactor as number, cfgFile);
  }
  return sae;
}

/** SAELens stores θ as "threshold"; older JumpReLU files store "log_threshold". */
function thresholdOf(w: ReturnType<typeof openSafetensors>, m: number): Float32Array {
  const t = tensorOf(w, 'threshold', [m], true);
  if (t) return t;
  const log = tensorOf(w, 'log_threshold', [m], true);
  if (log) return log.map(Math.exp);
  return tensorOf(w, 'threshold', [m])!;
}
