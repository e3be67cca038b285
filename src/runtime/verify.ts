/**
 * Checks the runtime against reference activations (the format of ../shared/fixtures:
 * reference.safetensors with `input_ids` [B, T] and one tensor per TransformerLens hook, in
 * forward order) and against a recorded greedy continuation (greedy.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, ShapeMismatchError } from '../errors.js';
import type { WeightIndex } from '../model/index.js';
import { generate } from './generate.js';
import type { HookedTransformer } from './model.js';

export interface HookComparison {
  readonly name: string;
  readonly maxAbs: number;
  /** Largest |got − ref| / (atol + rtol·|ref|); ≤ 1 passes. */
  readonly worstRatio: number;
  readonly pass: boolean;
}

export interface ReferenceReport {
  /** Compared tensors in the reference file's order. */
  readonly hooks: readonly HookComparison[];
  /** Tensors in the file that name no hook of this model (e.g. `ln_final.output`). */
  readonly skipped: readonly string[];
  readonly firstFailure: string | null;
  readonly pass: boolean;
}

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** Runs the reference's input_ids (used exactly as given) and compares every hook tensor. */
export async function compareReference(model: HookedTransformer, reference: WeightIndex, tol: Tolerance): Promise<ReferenceReport> {
  if (!reference.tensors.has('input_ids')) {
    throw new FileFormatError('the reference file has no "input_ids" tensor', 'a reference.safetensors holds input_ids [B, T] (I64) and one tensor per hook; see the fixtures README');
  }
  const ids = reference.readInts('input_ids');
  const [B, T] = ids.shape;
  const seqs = Array.from({ length: B }, (_, r) => ids.data.slice(r * T, (r + 1) * T));
  const names = [...reference.tensors.keys()].filter((n) => n !== 'input_ids');
  const known = new Set(model.hookPoints.map((p) => p.name));
  const hookNames = names.filter((n) => known.has(n) && n !== 'logits');
  const result = await model.run(seqs, { fetch: hookNames, logits: names.includes('logits') });

  const hooks: HookComparison[] = [];
  for (const name of names) {
    if (!known.has(name)) continue;
    const got = name === 'logits' ? result.logits : result.hooks.get(name);
    if (!got) continue;
    const info = reference.info(name);
    const expected = reference.readF32(name);
    if (expected.length !== got.data.length) {
      throw new ShapeMismatchError(`reference tensor ${name} has shape [${info.shape.join(', ')}], the model gives [${got.shape.join(', ')}]`, 'check that the reference was made with this model');
    }
    let maxAbs = 0;
    let worstRatio = 0;
    for (let i = 0; i < expected.length; i++) {
      const diff = Math.abs(got.data[i] - expected[i]);
      const ratio = diff / (tol.atol + tol.rtol * Math.abs(expected[i]));
      if (!(diff <= maxAbs)) maxAbs = diff; // NaN counts as the worst
      if (!(ratio <= worstRatio)) worstRatio = ratio;
    }
    hooks.push({ name, maxAbs, worstRatio, pass: worstRatio <= 1 });
  }
  const firstFailure = hooks.find((h) => !h.pass)?.name ?? null;
  return { hooks, skipped: names.filter((n) => !known.has(n)), firstFailure, pass: firstFailure === null };
}

/** greedy.json as in ../shared/fixtures: a prompt and the ids a reference implementation generated from it greedily. */
export interface GreedyReference {
  readonly prompt_ids: readonly number[];
  readonly generated_ids: readonly number[];
}

export interface GreedyReport {
  readonly expected: readonly number[];
  readonly got: readonly number[];
  /** Index of the first differing generated id, or null. */
  readonly firstMismatch: number | null;
  readonly pass: boolean;
}

/** Reads `greedy.json` from a model directory, or null when there is none. */
export function readGreedyReference(dir: string): GreedyReference | null {
  const file = path.join(dir, 'greedy.json');
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FileFormatError(`${file}: not valid JSON (${(e as Error).message})`, 'regenerate greedy.json');
  }
  const g = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<GreedyReference>;
  const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));
  if (!isIds(g.prompt_ids) || !isIds(g.generated_ids)) {
    throw new FileFormatError(`${file}: needs integer arrays "prompt_ids" and "generated_ids"`, 'regenerate greedy.json');
  }
  return { prompt_ids: g.prompt_ids, generated_ids: g.generated_ids };
}

/** Greedy generation from the reference prompt (no stop on EOS) compared id by id. */
export async function compareGreedy(model: HookedTransformer, ref: GreedyReference): Promise<GreedyReport> {
  const out = await generate(model, [ref.prompt_ids], { maxNewTokens: ref.generated_ids.length, temperature: 0, stopAtEos: false });
  const got = out.sequences[0].generated;
  const idx = ref.generated_ids.findIndex((id, i) => got[i] !== id);
  return { expected: ref.generated_ids, got, firstMismatch: idx === -1 ? null : idx, pass: idx === -1 };
}
