/** The families the runtime builds, keyed by config.json model_type. Adding one: a file plus one line in FAMILIES. */
import { ModelFormatError } from '../../errors.js';
import type { FamilyName } from '../../hooks.js';
import type { ForwardContext } from '../forward-context.js';
import { gemma } from './gemma.js';
import { gpt2 } from './gpt2.js';
import { gptNeox } from './gpt_neox.js';
import { llama } from './llama.js';
import type { ArchConfig, BlockNorms, Family, Unembedding, WeightSpec } from './types.js';

/** A family with its config already read: what the runtime works with. */
export interface BoundFamily {
  readonly name: FamilyName;
  readonly config: ArchConfig;
  readonly ignoredKeys: readonly RegExp[];
  weightSpecs(available: ReadonlySet<string>): WeightSpec[];
  forward(ctx: ForwardContext): void;
  unembedding(available: ReadonlySet<string>): Unembedding;
  /** Block L's ln1 and ln2 (weight names, bias, (1 + w)). */
  blockNorms(L: number): BlockNorms;
}

interface FamilyEntry {
  readonly name: FamilyName;
  readonly modelTypes: readonly string[];
  open(raw: Readonly<Record<string, unknown>>, configPath: string): BoundFamily;
}

function entry<C extends ArchConfig>(f: Family<C>): FamilyEntry {
  return {
    name: f.name,
    modelTypes: f.modelTypes,
    open(raw, configPath) {
      const config = f.parseConfig(raw, configPath);
      return {
        name: f.name,
        config,
        ignoredKeys: f.ignoredKeys,
        weightSpecs: (available) => f.weightSpecs(config, available),
        forward: (ctx) => f.forward(ctx, config),
        unembedding: (available) => f.unembedding(config, available),
        blockNorms: (L) => f.blockNorms(config, L),
      };
    },
  };
}

export const FAMILIES: readonly FamilyEntry[] = [entry(gpt2), entry(llama), entry(gptNeox), entry(gemma)];

/** Reads config.json for the family of its model_type, or fails listing the supported types. */
export function openFamily(raw: Readonly<Record<string, unknown>>, configPath: string): BoundFamily {
  const modelType = String(raw.model_type);
  const family = FAMILIES.find((f) => f.modelTypes.includes(modelType));
  if (!family) {
    const supported = FAMILIES.flatMap((f) => f.modelTypes).join(', ');
    throw new ModelFormatError(`${configPath}: model_type "${modelType}" is not supported`, `interp runs model types ${supported}`);
  }
  return family.open(raw, configPath);
}

export type { ArchConfig, BlockNorms, Family, Unembedding, WeightSpec } from './types.js';
