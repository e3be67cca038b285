/**
 * Typed reads of config.json fields, with messages that name the file, the field and what was
 * found. Hugging Face configs name the same dimension differently across families, so each read
 * takes the accepted names in order.
 */
import { ModelFormatError, describeValue } from '../../errors.js';

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
