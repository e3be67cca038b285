/**
 * What src/model hands to the runtime: a checkpoint's raw config, an index of its tensors (read
 * lazily, widened to fp32), its tokenizer, and where it came from. Family-specific meaning
 * (which keys exist, what shapes they have) lives in src/runtime/families, not here.
 */

/** Safetensors element types interp reads. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Where one tensor's bytes live on disk. */
export interface TensorInfo {
  /** Tensor name as in the checkpoint, e.g. `h.0.attn.c_attn.weight`. */
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Shape as stored (row-major). */
  readonly shape: readonly number[];
  /** Absolute path of the .safetensors file that holds it. */
  readonly file: string;
  /** Absolute byte offset of the first element within `file`. */
  readonly offset: number;
  /** Number of bytes (= product(shape) × element size). */
  readonly byteLength: number;
}

/** All tensors of a checkpoint (one file or a sharded set), by name. */
export interface WeightIndex {
  /** Every tensor, by name, in file order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Tensor info, or a ModelFormatError naming the checkpoint and the missing key. */
  info(name: string): TensorInfo;
  /** Reads one tensor as fp32 (F16/BF16/F64 are converted; integers are rejected). */
  readF32(name: string): Float32Array;
  /** Reads one integer tensor (I64/I32) as plain numbers, e.g. reference `input_ids`. */
  readInts(name: string): { data: number[]; shape: readonly number[] };
}

/** Text ↔ ids through the checkpoint's tokenizer.json (a maintained library, not hand-written BPE). */
export interface Tokenizer {
  /** Encodes text to ids without adding special tokens (BOS is the TokenizerPolicy's job). */
  encode(text: string): number[];
  /** Decodes ids to text (special tokens skipped when `skipSpecial`). */
  decode(ids: readonly number[], skipSpecial?: boolean): string;
  /** The token string of one id as the vocabulary spells it (e.g. `Ġthe`, `▁the`), or undefined outside the vocabulary. */
  idToToken(id: number): string | undefined;
  /**
   * How one token reads on its own, for token strips, tables and capture's token column: the
   * text it adds in the middle of a text, so a word-start marker shows as a space (`▁the` and
   * `Ġthe` → " the"). The only place token strings for people are made; see src/model/tokenizer.ts.
   */
  tokenDisplay(id: number): string;
  /** Whether the id is a special added token (BOS, EOS, pad, …): decode(ids, true) skips it, and so do continuations. */
  isSpecial(id: number): boolean;
  /** Vocabulary size including added tokens. */
  readonly vocabSize: number;
}

/** Defaults from generation_config.json / config.json that generation uses. */
export interface GenerationDefaults {
  readonly bosTokenId: number | null;
  /** One or more ids that end generation. */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
}

/** A Hugging Face model directory, opened. */
export interface ModelSource {
  /** Absolute path of the model directory (a snapshot folder for hub ids). */
  readonly dir: string;
  /** Hub id when resolved from one, e.g. `gpt2`, else null. */
  readonly hubId: string | null;
  /** Snapshot revision (commit hash) when resolved from the hub cache, else null. */
  readonly revision: string | null;
  /** config.json as parsed JSON; `model_type` is guaranteed to be a string. */
  readonly config: Readonly<Record<string, unknown>> & { readonly model_type: string };
  readonly weights: WeightIndex;
  /** The tokenizer, or null when the directory has no tokenizer.json. */
  readonly tokenizer: Tokenizer | null;
  readonly generation: GenerationDefaults;
  /** sha256 over config.json and the safetensors headers: identifies the checkpoint in manifests. */
  readonly hash: string;
}
