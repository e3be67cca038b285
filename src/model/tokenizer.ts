/**
 * The checkpoint's tokenizer.json (plus tokenizer_config.json when present), through
 * @huggingface/tokenizers — the maintained pure-JS port of Hugging Face tokenizers, not a
 * hand-written BPE.
 *
 * `encode` never adds special tokens: whether a BOS is prepended is the TokenizerPolicy's decision
 * (src/runtime), recorded with every run. Special tokens written in the text itself (e.g.
 * "<|endoftext|>") are still recognised, as in Python.
 *
 * Text shown to people is made here and nowhere else:
 * - a continuation (generated ids after a prompt) is decoded in the context of its prompt
 *   (ContinuationDecoder, continuationText, continuationPieces), because decoding it alone loses
 *   its leading space with SentencePiece tokenizers, whose decoder strips the space that starts a
 *   text ("▁he" at the start of a text decodes to "he");
 * - one token on its own (token strips, tables, capture's token column) is `tokenDisplay`.
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

/** Whether a tokenizer.json decoder (or a step of its Sequence) is GPT-2's byte-level one. */
function hasByteLevelDecoder(decoder: unknown): boolean {
  if (!isObject(decoder)) return false;
  return decoder.type === 'ByteLevel' || (Array.isArray(decoder.decoders) && decoder.decoders.some(hasByteLevelDecoder));
}

class JsTokenizer implements LoadedTokenizer {
  readonly vocabSize: number;
  /** Added tokens by id: decoders pass their content through unchanged. */
  private readonly added: ReadonlyMap<number, { readonly content: string; readonly special: boolean }>;
  private readonly displays = new Map<number, string>();

  constructor(
    readonly source: string,
    private readonly inner: HfTokenizer,
    /** The decoder maps GPT-2's printable characters back to bytes (tokenDisplay shows bytes of partial characters). */
    private readonly byteLevel: boolean,
  ) {
    let maxId = -1;
    for (const id of library(source, 'list the vocabulary', () => inner.get_vocab(true).values())) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    this.added = library(source, 'list the added tokens', () => inner.get_added_tokens_decoder());
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

  isSpecial(id: number): boolean {
    return this.added.get(id)?.special === true;
  }

  /**
   * The text the token adds after a copy of itself: decode([id, id]) minus decode([id]). After
   * another token no decoder rule for the start of a text applies (SentencePiece's Strip of the
   * leading space, the Metaspace decoder's first-token rule, WordPiece's first word), and a copy
   * of itself is a neighbour every tokenizer has, with no decoder configuration to interpret
   * here. So "▁he" and
   * "Ġhe" show as " he", "##s" as "s", a WordLevel word (no decoder: words joined by spaces) as
   * " word", "<0x0A>" as a newline; clean_up_tokenization_spaces applies as in any decode.
   * Added tokens (BOS, "<|endoftext|>") show their content. A token that is only part of a UTF-8
   * character (a byte-fallback byte, a byte-level piece of an emoji) decodes to U+FFFD; it shows
   * its bytes instead: "<0xE2>" (byte fallback's own spelling), and byte-level bytes the same way
   * (GPT-2's "âĢ" → "<0xE2><0x80>"), whole characters among them kept.
   */
  tokenDisplay(id: number): string {
    const cached = this.displays.get(id);
    if (cached !== undefined) return cached;
    const once = this.decode([id]); // checks the id
    const added = this.added.get(id);
    let shown = added ? added.content : textAfter(once, this.decode([id, id]));
    const token = this.idToToken(id) ?? '';
    if (!added && shown.includes(REPLACEMENT) && !token.includes(REPLACEMENT)) shown = partialCharacter(token, this.byteLevel) ?? shown;
    this.displays.set(id, shown);
    return shown;
  }
}

const REPLACEMENT = '\uFFFD';
const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;
/** GPT-2's printable character → byte table (the library's own is not in its type declarations). */
let byteOfChar: ReadonlyMap<string, number> | null = null;

/**
 * The inverse of bytes_to_unicode in GPT-2's encoder.py (openai/gpt-2): printable Latin-1 bytes
 * stand for themselves, the other 68 bytes for U+0100 onwards in byte order (space → "Ġ").
 */
function gpt2ByteTable(): ReadonlyMap<string, number> {
  const table = new Map<string, number>();
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.set(String.fromCodePoint(printable ? b : next++), b);
  }
  return table;
}

/** How a token that is part of a UTF-8 character is shown (see tokenDisplay), or null to keep its decoding. */
function partialCharacter(token: string, byteLevel: boolean): string | null {
  if (BYTE_TOKEN.test(token)) return token;
  if (!byteLevel) return null;
  const table = (byteOfChar ??= gpt2ByteTable());
  const bytes: number[] = [];
  for (const c of token) {
    const b = table.get(c);
    if (b === undefined) return null;
    bytes.push(b);
  }
  return bytesDisplay(bytes);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text, each byte that is not part of a whole UTF-8 character written "<0xNN>". */
function bytesDisplay(bytes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
    let char: string | null = null;
    if (n > 0 && i + n <= bytes.length) {
      try {
        char = strictUtf8.decode(Uint8Array.from(bytes.slice(i, i + n)));
      } catch {
        char = null;
      }
    }
    if (char !== null) {
      out += char;
      i += n;
    } else {
      out += `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      i += 1;
    }
  }
  return out;
}

/**
 * `text` minus `context`, when `context` is a prefix of it. Otherwise what follows their longest
 * common prefix: the two decodings differ before the end of `context` when the ids after it
 * change how its end decodes — its last bytes were an unfinished UTF-8 character (U+FFFD) that
 * they complete (byte fallback, byte-level BPE), or clean_up_tokenization_spaces removes a space
 * across the boundary (" n" + "'t" → "n't"). The result then begins with the whole completed
 * character; a surrogate pair is never split.
 */
function textAfter(context: string, text: string): string {
  if (text.startsWith(context)) return text.slice(context.length);
  return text.slice(commonPrefixLength(context, text));
}

function commonPrefixLength(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a.charCodeAt(n) === b.charCodeAt(n)) n++;
  // Back off from between a high and a low surrogate.
  if (n > 0 && n < b.length && b.charCodeAt(n - 1) >= 0xd800 && b.charCodeAt(n - 1) <= 0xdbff) n--;
  return n;
}

/**
 * Decodes a continuation incrementally, in the context of its prompt: its text is
 * decode(prompt ++ generated) minus decode(prompt) (see textAfter where the first is not a prefix
 * of the second). Decoding the generated ids alone is wrong for SentencePiece tokenizers, whose
 * decoder strips the space that starts a text, so a continuation " he found" came out "he found".
 *
 * Special tokens: the prompt's stay in the context (after "<s>" nothing is stripped, as with
 * Python's decode(..., skip_special_tokens=False), so a story generated after BOS alone starts
 * with its space); generated ones (EOS) are left out of the text, like skip_special_tokens.
 *
 * `push` hands out text as ids arrive, holding back a trailing U+FFFD (possibly a character whose
 * remaining bytes are still to come), so the pieces it returns, followed by `flush()`, join to
 * `text` however the ids are chunked. The one exception is clean_up_tokenization_spaces rewriting
 * text already handed out (" n" then "'t"): the next piece then starts where the texts first
 * differ and repeats what was rewritten.
 */
export class ContinuationDecoder {
  private readonly ids: number[];
  private readonly context: string;
  private current = '';
  private handedOut = '';

  constructor(
    private readonly tokenizer: Tokenizer,
    prompt: readonly number[],
  ) {
    this.ids = [...prompt];
    this.context = tokenizer.decode(prompt);
  }

  /** The continuation's text so far, all of it. */
  get text(): string {
    return this.current;
  }

  /** Adds generated ids; returns the text they settle (see the class comment). */
  push(generated: readonly number[]): string {
    let changed = false;
    for (const id of generated) {
      if (this.tokenizer.isSpecial(id)) continue;
      this.ids.push(id);
      changed = true;
    }
    if (changed) this.current = textAfter(this.context, this.tokenizer.decode(this.ids));
    let end = this.current.length;
    while (end > 0 && this.current[end - 1] === REPLACEMENT) end--;
    return this.handOut(end);
  }

  /** The text held back so far (an unfinished character at the end): call when generation is over. */
  flush(): string {
    return this.handOut(this.current.length);
  }

  private handOut(end: number): string {
    const start = this.current.startsWith(this.handedOut) ? this.handedOut.length : commonPrefixLength(this.handedOut, this.current);
    const stop = Math.max(start, end);
    this.handedOut = this.current.slice(0, stop);
    return this.current.slice(start, stop);
  }
}

/** The text of `generated` after `prompt` (see ContinuationDecoder): what `interp generate` and generate() show. */
export function continuationText(tokenizer: Tokenizer, prompt: readonly number[], generated: readonly number[]): string {
  const decoder = new ContinuationDecoder(tokenizer, prompt);
  decoder.push(generated);
  return decoder.text;
}

/**
 * One string per generated id, for token strips of a continuation: the text that id settles after
 * the prompt and the ids before it (see ContinuationDecoder), so word-start spaces show where
 * they fall and the pieces of the non-special ids join to continuationText. Special tokens (an
 * EOS) show their content, as in tokenDisplay, though the text leaves them out. A token that
 * starts a character finished by later ones shows "" and the finishing one the whole character.
 */
export function continuationPieces(tokenizer: Tokenizer, prompt: readonly number[], generated: readonly number[]): string[] {
  const decoder = new ContinuationDecoder(tokenizer, prompt);
  return generated.map((id, i) => {
    const piece = decoder.push([id]) + (i === generated.length - 1 ? decoder.flush() : '');
    return tokenizer.isSpecial(id) ? piece + tokenizer.tokenDisplay(id) : piece;
  });
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
  return new JsTokenizer(source, inner, hasByteLevelDecoder(json.decoder));
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
