/**
 * Gemma Scope 2 (Gemma 3): FOLDER/params.safetensors + FOLDER/config.json, the layout SAELens'
 * Gemma 3 loader reads (decoderesearch/SAELens, sae_lens/loading/pretrained_sae_loaders.py, and
 * its tests of get_gemma_3_config_from_hf):
 *
 *   params.safetensors  w_enc [d, m], w_dec [m, o], b_enc [m], b_dec [o], threshold [m]
 *   config.json         architecture "jump_relu", hf_hook_point_in, hf_hook_point_out, width, l0, model_name
 *
 * JumpReLU as in SAELens (relu(pre)·1[pre > θ]), no b_dec subtraction, no normalisation. The hook
 * comes from hf_hook_point_in (and _out for transcoders), HF module names mapped to interp's:
 *
 *   model.layers.L.output                              → blocks.L.hook_resid_post
 *   model.layers.L.self_attn.o_proj.input              → blocks.L.attn.hook_z (rows of head·d_head)
 *   model.layers.L.post_attention_layernorm.output     → blocks.L.hook_attn_out
 *   model.layers.L.post_feedforward_layernorm.output   → blocks.L.hook_mlp_out
 *   model.layers.L.pre_feedforward_layernorm.output    → blocks.L.ln2.hook_normalized (transcoder input)
 *
 * A transcoder is a folder whose hf_hook_point_out differs from its input. Refused: crosscoders
 * and cross-layer transcoders (w_enc with more than two axes: their decoders write to every later
 * layer), and the "affine" transcoders' affine_skip_connection, whose orientation (x·A or x·Aᵀ)
 * interp could not read from a loader that states it.
 */
import path from 'node:path';
import { FileFormatError, ShapeMismatchError, UsageError, describeValue } from '../../src/errors.js';
import { openSafetensors } from '../../src/model/index.js';
import { checkSae, type Sae, type SaeConfig } from '../sae.js';
import { INPUT_AFTER_NORM_WEIGHT, metadataFrom, readJson, shapeOf, tensorOf, type ReaderOptions } from './common.js';

export const GEMMA_SCOPE_2_WEIGHTS = 'params.safetensors';
export const GEMMA_SCOPE_2_CONFIG = 'config.json';

const HF_HOOKS: readonly [RegExp, (layer: string) => string][] = [
  [/^model\.layers\.(\d+)\.output$/, (l) => `blocks.${l}.hook_resid_post`],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj\.input$/, (l) => `blocks.${l}.attn.hook_z`],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.output$/, (l) => `blocks.${l}.hook_attn_out`],
  [/^model\.layers\.(\d+)\.post_feedforward_layernorm\.output$/, (l) => `blocks.${l}.hook_mlp_out`],
  [/^model\.layers\.(\d+)\.pre_feedforward_layernorm\.output$/, (l) => `blocks.${l}.ln2.hook_normalized`],
];

/** interp's name for a Hugging Face hook point of Gemma Scope 2, or null when it has none. */
export function hfHookToInterp(hf: string): string | null {
  for (const [pattern, name] of HF_HOOKS) {
    const match = pattern.exec(hf);
    if (match) return name(match[1]);
  }
  return null;
}

export function readGemmaScope2(dir: string, options: ReaderOptions & { hook?: string } = {}): Sae {
  const cfgFile = path.join(dir, GEMMA_SCOPE_2_CONFIG);
  const raw = readJson(cfgFile);
  if (raw.architecture !== undefined && raw.architecture !== 'jump_relu') {
    throw new UsageError(`${cfgFile}: architecture ${describeValue(raw.architecture)}`, 'interp reads Gemma Scope 2 JumpReLU dictionaries ("jump_relu")');
  }
  const w = openSafetensors(path.join(dir, GEMMA_SCOPE_2_WEIGHTS));
  const enc = shapeOf(w, 'w_enc');
  if (enc.length !== 2) {
    throw new UsageError(`${w.source}: w_enc is [${enc.join(', ')}], a crosscoder or cross-layer transcoder`, 'interp reads single-layer SAEs and transcoders; their decoders write to one hook');
  }
  if (w.tensors.has('affine_skip_connection')) {
    throw new UsageError(
      `${w.source}: an affine transcoder (affine_skip_connection)`,
      'interp refuses it rather than guess the skip term\'s orientation (x·A or x·Aᵀ), which no loader it can read states; use the release\'s transcoders without "_affine"',
    );
  }
  const [d, m] = enc;
  const decShape = shapeOf(w, 'w_dec');
  if (decShape.length !== 2 || decShape[0] !== m) throw new ShapeMismatchError(`${w.source}: w_dec is [${decShape.join(', ')}], expected [${m}, d_out]`, 'check the file');
  const o = decShape[1];

  const hfIn = typeof raw.hf_hook_point_in === 'string' ? raw.hf_hook_point_in : null;
  const hfOut = typeof raw.hf_hook_point_out === 'string' ? raw.hf_hook_point_out : hfIn;
  const transcoder = hfOut !== hfIn || o !== d || options.hookOut !== undefined;
  const hook = options.hook ?? (hfIn ? hfHookToInterp(hfIn) : null);
  const hookOut = transcoder ? options.hookOut ?? (hfOut ? hfHookToInterp(hfOut) : null) : null;
  if (!hook || (transcoder && !hookOut)) {
    const which = !hook ? `hf_hook_point_in ${describeValue(hfIn)}` : `hf_hook_point_out ${describeValue(hfOut)}`;
    throw new FileFormatError(`${cfgFile}: ${which} is not a hook point interp can name`, `pass --hook${transcoder ? ' and --hook-out' : ''} with the interp hook it reads`);
  }
  const cfg: SaeConfig = {
    architecture: 'jumprelu', d_in: d, d_sae: m, ...(transcoder ? { d_out: o } : {}), k: null, dtype: 'float32', device: 'cpu',
    apply_b_dec_to_input: false, normalize_activations: 'none',
    reshape_activations: hook.endsWith('attn.hook_z') ? 'hook_z' : 'none',
    metadata: {
      ...metadataFrom(raw, { hook_name: hook }),
      hook_name: hook,
      ...(hookOut ? { hook_name_out: hookOut } : {}),
      ...(hfIn ? { hf_hook_point_in: hfIn } : {}),
      // pre_feedforward_layernorm.output includes the norm's (1 + w); interp's hook_normalized does not.
      ...(hfIn?.endsWith('layernorm.output') && hook.endsWith('.hook_normalized') ? { [INPUT_AFTER_NORM_WEIGHT]: true } : {}),
      ...(transcoder && hfOut ? { hf_hook_point_out: hfOut } : {}),
    },
  };
  const sae: Sae = {
    cfg,
    weights: {
      W_enc: tensorOf(w, 'w_enc', [d, m])!,
      W_dec: tensorOf(w, 'w_dec', [m, o])!,
      b_enc: tensorOf(w, 'b_enc', [m])!,
      b_dec: tensorOf(w, 'b_dec', [o])!,
      threshold: tensorOf(w, 'threshold', [m])!,
    },
  };
  checkSae(sae, dir);
  return sae;
}
