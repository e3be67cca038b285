/** Shared helpers for test/model: temporary directories, fixtures, hand-built safetensors bytes. */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Parity fixtures shared between checkouts (see its README.md). */
export const fixturesDir = path.resolve(repoRoot, '../shared/fixtures');
export const haveFixtures = fs.existsSync(path.join(fixturesDir, 'gpt2-tiny', 'model.safetensors'));
if (!haveFixtures) console.warn(`[test/model] ${fixturesDir} is absent: fixture tests are skipped`);

const made: string[] = [];

/** A fresh temporary directory, removed after the current test. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-model-'));
  made.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Raw safetensors bytes: 8-byte length (or `declaredLength`), the header (an object is
 * JSON-encoded, a string UTF-8 encoded, bytes used as they are), then `data`.
 */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Buffer {
  const json =
    header instanceof Uint8Array
      ? Buffer.from(header)
      : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(json.length), 0);
  return Buffer.concat([prefix, json, data]);
}

/** Writes `bytes` to `dir/name` and returns the path. */
export function writeFile(dir: string, name: string, bytes: Uint8Array | string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

/** Little-endian bytes of uint16 values. */
export function u16le(values: number[]): Uint8Array {
  const out = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => out.writeUInt16LE(v, i * 2));
  return out;
}

/** GPT-2's bytes_to_unicode: every byte maps to a printable code point (space → Ġ). */
function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i])]));
}

/**
 * A small byte-level BPE tokenizer.json in GPT-2's format: 256 byte tokens (id = byte value), the
 * merges below (ids 256...), and <|endoftext|> as a special added token with the last id.
 */
export function byteLevelBpeJson(): { json: Record<string, unknown>; eot: number } {
  const vocab: Record<string, number> = {};
  for (const [b, ch] of bytesToUnicode()) vocab[ch] = b;
  const merges = ['Ġ t', 'h e', 'Ġt he', 'l l', 'he ll', 'hell o'];
  let id = 256;
  for (const m of merges) vocab[m.replace(' ', '')] = id++;
  const eot = id;
  vocab['<|endoftext|>'] = eot;
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    eot,
    json: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [{ id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
      post_processor: { type: 'ByteLevel', ...byteLevel },
      decoder: { type: 'ByteLevel', ...byteLevel },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
    },
  };
}

/** A WordLevel tokenizer.json whose post-processor would add <s> if special tokens were added. */
export function wordLevelJson(): Record<string, unknown> {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '[UNK]'), special(1, '<s>')],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab: { '[UNK]': 0, '<s>': 1, the: 2, cat: 3, sat: 4, mat: 5 }, unk_token: '[UNK]' },
  };
}

/** Which decoder a SentencePiece-style tokenizer.json carries (both are on the hub). */
export type MetaspaceDecoderForm = 'metaspace' | 'sequence';

/**
 * A small SentencePiece-style BPE tokenizer.json (Llama's layout): <unk> <s> </s>, 256 byte-fallback
 * tokens <0x00>…<0xFF> (ids 3…258), then pieces, words marked by "▁". The Metaspace pre-tokenizer
 * marks spaces (and prepends one, as SentencePiece does). The decoder is either Metaspace's own,
 * or the Sequence Llama 2 ships (Replace "▁" → " ", ByteFallback, Fuse, Strip the leading space).
 */
export function metaspaceBpeJson(form: MetaspaceDecoderForm): Record<string, unknown> {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const chars = ['▁', 'a', 'd', 'e', 'f', 'h', 'i', 'k', 'l', 'n', 'o', 'r', 's', 't', 'u', 'w', ',', '.'];
  const merges = ['h e', '▁ he', 'l l', '▁he ll', '▁hell o', '▁ t', '▁t he', 'o r', 'w or', '▁ wor', '▁wor l', '▁worl d', '▁ f', 'o u', 'n d', '▁f ou', '▁fou nd', 'i t', '▁ it', 'o k', '▁ ok'];
  let id = 259;
  for (const c of chars) vocab[c] = id++;
  for (const m of merges) vocab[m.replace(' ', '')] = id++;
  const decoder = form === 'metaspace'
    ? { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false }
    : { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    post_processor: null,
    decoder,
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
  };
}
