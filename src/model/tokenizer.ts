/**
 * The checkpoint's tokenizer.json (plus tokenizer_config.json when present), through
 * @huggingface/tokenizers — the maintained pure-JS port of Hugging Face tokenizers, not a
 * hand-written BPE.
 *
 * `encode` never adds special tokens: whether a BOS is prepended is the TokenizerPolicy's decision
 * (src/runtime), recorded with every run. Special tokens written in the text itself (e.g.
 * "<|endoftext|>") are still recognised, as in Python.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { InterpError, ModelFormatError, UsageError, describeValue } from '../errors.js';
import type { Tokenizer } from './types.js';

export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

/** Tokenizer plus where it came from. */
export interface LoadedTokenizer extends Tokenizer {
  /** Absolute path of tokenizer.json (or the name given to createTokenizer). */
  readonly source: string;
}

const FIX = 'download the model again, or re-save the tokenizer in Python with `AutoTokenizer.from_pretrained(src).save_pretrained(dir)`';

/**
 * Token ids at or above this are refused. The library sizes arrays by the largest id (a damaged
 * id of 2,125,882,592 kept it busy for four minutes); the largest released vocabularies hold
 * about 256k tokens.
 */
export const MAX_TOKEN_ID = 1 << 22;

/** Checks the ids of model.vocab (an object token → id) and added_tokens before the library sees them. */
function checkIds(source: string, json: Record<string, unknown>, model: Record<string, unknown>): void {
  const ids: unknown[] = isObject(model.vocab) ? Object.values(model.vocab) : [];
  if (Array.isArray(json.added_tokens)) for (const t of json.added_tokens) ids.push(isObject(t) ? t.id : t);
  const bad = ids.find((id) => !(Number.isSafeInteger(id) && (id as number) >= 0 && (id as number) < MAX_TOKEN_ID));
  if (bad !== undefined) {
    throw new ModelFormatError(`${source}: token id ${describeValue(bad)} in the vocabulary or added_tokens is not an integer in [0, ${MAX_TOKEN_ID})`, FIX);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Runs a call into @huggingface/tokenizers. The library checks much of tokenizer.json only when it
 * first uses a part (a post-processor template, a decoder), so a damaged file can fail at encode
 * time with a TypeError or RangeError: that is reported as the file's fault, naming it.
 */
function library<T>(source: string, what: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof InterpError) throw err;
    throw new ModelFormatError(`${source}: @huggingface/tokenizers failed to ${what} (${(err as Error)?.message ?? String(err)}); the tokenizer file is damaged or of a kind the library does not support`, FIX);
  }
}

class JsTokenizer implements LoadedTokenizer {
  readonly vocabSize: number;

  constructor(
    readonly source: string,
    private readonly inner: HfTokenizer,
  ) {
    let maxId = -1;
    for (const id of library(source, 'list the vocabulary', () => inner.get_vocab(true).values())) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
  }

  encode(text: string): number[] {
    const { ids, tokens } = library(this.source, 'encode', () => this.inner.encode(text, { add_special_tokens: false }));
    const bad = ids.findIndex((id: number) => !Number.isInteger(id));
    if (bad >= 0) {
      throw new UsageError(
        `${this.source}: token "${tokens[bad]}" of the text has no id (the vocabulary has no entry for it and no unk_token)`,
        'remove the characters the tokenizer cannot represent, or pass token_ids directly',
      );
    }
    return ids;
  }

  decode(ids: readonly number[], skipSpecial = false): string {
    if (ids.length === 0) return '';
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= this.vocabSize);
    if (bad !== undefined) {
      throw new UsageError(`${this.source}: cannot decode id ${bad}; expected an integer in [0, ${this.vocabSize})`, 'pass ids produced by this model');
    }
    // clean_up_tokenization_spaces comes from tokenizer_config.json (default false), so that
    // decode(encode(text)) reproduces the text.
    return library(this.source, 'decode', () => this.inner.decode([...ids], { skip_special_tokens: skipSpecial }));
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? library(this.source, 'look up a token', () => this.inner.id_to_token(id)) : undefined;
  }
}

/**
 * Builds a tokenizer from parsed tokenizer.json and tokenizer_config.json objects. `source` names
 * the file in error messages. Throws ModelFormatError when the library cannot build it.
 */
export function createTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown, source: string): LoadedTokenizer {
  if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
    throw new ModelFormatError(`${source}: expected a tokenizer.json object with a "model" entry`, FIX);
  }
  if (tokenizerConfig !== undefined && tokenizerConfig !== null && !isObject(tokenizerConfig)) {
    throw new ModelFormatError(`${source}: tokenizer_config.json must be a JSON object`, FIX);
  }
  // The library requires these keys to be present; tokenizer.json files written by Python always
  // have them, possibly null.
  const json: Record<string, unknown> = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...tokenizerJson,
    added_tokens: tokenizerJson.added_tokens ?? [],
  };
  const config: Record<string, unknown> = { clean_up_tokenization_spaces: false, ...(tokenizerConfig ?? {}) };
  const model = tokenizerJson.model;
  checkIds(source, tokenizerJson, model);
  // WordLevel has no class of its own in the library (it becomes its Legacy model), which reads
  // the unknown token from the config rather than from the model.
  if (model.type === 'WordLevel' && config.unk_token === undefined && typeof model.unk_token === 'string') {
    config.unk_token = model.unk_token;
  }
  let inner: HfTokenizer;
  try {
    inner = new HfTokenizer(json, config);
  } catch (err) {
    throw new ModelFormatError(`${source}: @huggingface/tokenizers cannot build this tokenizer (${(err as Error).message})`, FIX);
  }
  return new JsTokenizer(source, inner);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelFormatError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`, FIX);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelFormatError(`${file}: not valid JSON (${(err as Error).message})`, FIX);
  }
}

/** Loads `dir/tokenizer.json` (and tokenizer_config.json if present); null when there is no tokenizer.json. */
export function loadTokenizer(dir: string): LoadedTokenizer | null {
  const file = path.join(path.resolve(dir), TOKENIZER_FILE);
  if (!fs.existsSync(file)) return null;
  const configFile = path.join(path.resolve(dir), TOKENIZER_CONFIG_FILE);
  const config = fs.existsSync(configFile) ? readJson(configFile) : undefined;
  if (config !== undefined && !isObject(config)) {
    throw new ModelFormatError(`${configFile}: expected a JSON object`, FIX);
  }
  return createTokenizer(readJson(file), config, file);
}
