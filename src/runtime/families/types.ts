/**
 * The record each model family registers: how to read its config, which checkpoint tensors it
 * needs (with shapes), and how to build its forward graph. Family differences live in the family
 * files only; the shared builders in ../layers.ts take options and never test a family name.
 */
import type { BlockNorm } from '../block.js';
import type { ArchFeature, FamilyName } from '../../hooks.js';
import type { ForwardContext } from '../forward-context.js';

/** Dimensions every family has, read from config.json. */
export interface ArchConfig {
  readonly family: FamilyName;
  /** config.json's model_type, e.g. `qwen2` for a llama-family model. */
  readonly modelType: string;
  readonly nLayers: number;
  readonly dModel: number;
  readonly nHeads: number;
  /** Key/value heads (= nHeads without grouped-query attention). */
  readonly nKvHeads: number;
  readonly dHead: number;
  readonly dMlp: number;
  readonly vocabSize: number;
  /** Longest context the model was trained for. */
  readonly nCtx: number;
  readonly features: ReadonlySet<ArchFeature>;
  /** Sliding attention window in tokens on the layers that use one (Mistral, Gemma 2/3), or null when every layer attends fully. */
  readonly slidingWindow: number | null;
}

/** The weights that map the last residual stream to logits, by interp weight name. */
export interface Unembedding {
  /** The final norm's weight g (the logit effect of a direction v is W_U (g ⊙ v)). */
  readonly normWeight: string;
  /** The norm multiplies by (1 + g) (Gemma's RMSNorm). */
  readonly normUnitOffset: boolean;
  /** W_U stored [V, d]: lm_head, or the tied input embedding. */
  readonly unembed: string;
}

/** One checkpoint tensor the family needs. */
export interface WeightSpec {
  /** Name used inside interp (graph initializer and weight cache). */
  readonly name: string;
  /** Checkpoint keys to try, in order (e.g. with and without a `transformer.` prefix). */
  readonly keys: readonly string[];
  /** Shape as stored in the checkpoint. */
  readonly shape: readonly number[];
  /**
   * `transpose`: a 2-D nn.Linear weight stored [out, in] is cached as [in, out] so that every
   * linear layer is `x @ W`. `as_is`: cached as stored.
   */
  readonly layout: 'as_is' | 'transpose';
}

export interface Family<C extends ArchConfig = ArchConfig> {
  readonly name: FamilyName;
  /** config.json model_type values this family builds. */
  readonly modelTypes: readonly string[];
  /** Reads and validates config.json (already parsed); `configPath` is for messages. */
  parseConfig(raw: Readonly<Record<string, unknown>>, configPath: string): C;
  /** Tensors the forward pass reads, given the keys the checkpoint has (for tied/untied heads). */
  weightSpecs(config: C, available: ReadonlySet<string>): WeightSpec[];
  /** Checkpoint keys that are buffers, not weights (e.g. GPT-2's causal-mask `attn.bias`). */
  readonly ignoredKeys: readonly RegExp[];
  /** Builds embed → blocks → final norm → logits, calling ctx.hook where each value is made. */
  forward(ctx: ForwardContext, config: C): void;
  /** The final norm and unembedding weights, given the checkpoint's keys (tied or untied). */
  unembedding(config: C, available: ReadonlySet<string>): Unembedding;
  /** Block L's two pre-norms (what multiplies `blocks.L.ln1/ln2.hook_normalized`), as its block uses them. */
  blockNorms(config: C, L: number): BlockNorms;
}

/** The pre-attention and pre-MLP norms of one block. */
export interface BlockNorms {
  readonly ln1: BlockNorm;
  readonly ln2: BlockNorm;
}
