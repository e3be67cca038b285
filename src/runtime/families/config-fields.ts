/**
 * Typed reads of config.json fields, with messages that name the file, the field and what was
 * found. Hugging Face configs name the same dimension differently across families, so each read
 * takes the accepted names in order.
 */
import { ModelFormatError, describeValue } from '../../errors.js';
import type { Activation } from '../layers.js';

type Raw = Readonly<Record<string, unknown>>;

function first(raw: Raw, names: readonly string[]): { name: string; value: unknown } | undefined {
  for (const name of names) if (raw[name] !== undefined && raw[name] !== null) return { name, value: raw[name] };
  return undefined;
}

/** A positive integer field; the first present name wins. */
export function readInt(raw: Raw, path: string, names: readonly string[], fallback?: number): number {
  const found = first(raw, names);
  if (found === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ModelFormatError(`${path}: missing "${names[0]}"`, `config.json must give ${names.join(' or ')} as a positive integer`);
  }
  if (typeof found.value !== 'number' || !Number.isSafeInteger(found.value) || found.value <= 0) {
    throw new ModelFormatError(`${path}: "${found.name}" must be a positive integer, got ${describeValue(found.value)}`, 'fix config.json');
  }
  return found.value;
}

/** A finite number field. */
export function readNumber(raw: Raw, path: string, names: readonly string[], fallback?: number): number {
  const found = first(raw, names);
  if (found === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ModelFormatError(`${path}: missing "${names[0]}"`, `config.json must give ${names.join(' or ')} as a number`);
  }
  if (typeof found.value !== 'number' || !Number.isFinite(found.value)) {
    throw new ModelFormatError(`${path}: "${found.name}" must be a number, got ${describeValue(found.value)}`, 'fix config.json');
  }
  return found.value;
}

/** A boolean field. */
export function readBool(raw: Raw, path: string, name: string, fallback: boolean): boolean {
  const value = raw[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new ModelFormatError(`${path}: "${name}" must be true or false, got ${describeValue(value)}`, 'fix config.json');
  return value;
}

/** An activation name mapped through `known`; unknown names list the supported ones. */
export function readActivation<A extends string>(raw: Raw, path: string, name: string, known: Readonly<Record<string, A>>, fallback: NoInfer<A>): A {
  const value = raw[name];
  if (value === undefined || value === null) return fallback;
  const act = typeof value === 'string' ? known[value] : undefined;
  if (act === undefined) {
    throw new ModelFormatError(`${path}: unsupported ${name} ${describeValue(value)}`, `interp supports ${Object.keys(known).join(', ')}`);
  }
  return act;
}

/** Hugging Face activation names (transformers' ACT2FN keys) by what they compute. */
export const HF_ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu: 'gelu_erf',
  relu: 'relu',
  silu: 'silu',
  swish: 'silu',
};

/** A layer's attention kind, as config.json's `layer_types` names it. */
export type LayerType = 'full_attention' | 'sliding_attention';

/**
 * The per-layer attention kinds: config.json's `layer_types` when present (checked: one known
 * entry per layer), else `fallback(i)`. A sliding layer needs a positive `sliding_window`.
 */
export function readLayerTypes(raw: Raw, path: string, nLayers: number, fallback: (layer: number) => LayerType): LayerType[] {
  const given = raw.layer_types;
  let types: LayerType[];
  if (given === undefined || given === null) {
    types = Array.from({ length: nLayers }, (_, i) => fallback(i));
  } else {
    if (!Array.isArray(given)) throw new ModelFormatError(`${path}: "layer_types" must be a list, got ${describeValue(given)}`, 'fix config.json: one "full_attention" or "sliding_attention" per layer');
    if (given.length !== nLayers) {
      throw new ModelFormatError(`${path}: "layer_types" has ${given.length} entries but num_hidden_layers is ${nLayers}`, 'fix config.json: give one layer type per layer');
    }
    types = given.map((t, i) => {
      if (t !== 'full_attention' && t !== 'sliding_attention') {
        throw new ModelFormatError(`${path}: "layer_types"[${i}] is ${describeValue(t)}, not a layer type interp knows`, 'use "full_attention" or "sliding_attention"');
      }
      return t;
    });
  }
  return types;
}

/** `sliding_window` as a positive integer, or null when absent; a zero or negative window is refused. */
export function readSlidingWindow(raw: Raw, path: string): number | null {
  const value = raw.sliding_window;
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ModelFormatError(`${path}: "sliding_window" must be a positive integer, got ${describeValue(value)}`, 'fix config.json (null turns the window off)');
  }
  return value;
}
