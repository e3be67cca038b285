/**
 * Property-based fuzzing of every parser of outside data (issue 9), shared by
 * test/reliability/fuzz.test.ts (a seeded sample in CI) and test/bench/fuzz.ts (10,000 cases).
 *
 * Each target writes a valid instance of its input (a model folder, a capture, a probe, ...) into
 * a fresh directory, corrupts one of its files with generated mutations, and calls the public
 * loader on it, reading everything the loader opened. The property, for every case:
 *   - the loader returns, or throws an InterpError whose message names the case directory
 *     (every file of the case lives there, so a message naming the file names it);
 *   - never another error type (TypeError, RangeError, a JSON or zlib error leaking out);
 *   - it finishes within TIME_LIMIT_MS, and does not allocate more than ALLOC_LIMIT_BYTES of
 *     buffers (a forged length must be refused before it is allocated).
 *
 * The mutations are in fuzz-mutations.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { InterpError } from '../../src/errors.js';
import { readGenerationDefaults, readModelConfig } from '../../src/model/config.js';
import { writeSafetensors, type WritableTensor } from '../../src/model/safetensors.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { openModelWeights, openSafetensors, openShardedSafetensors, type OpenedWeights } from '../../src/model/weights.js';
import { isFloatDtype } from '../../src/model/dtype.js';
import { openFamily } from '../../src/runtime/families/index.js';
import { CaptureWriter, openCapture } from '../../src/store/index.js';
import { readDatasetFile } from '../../src/dataset/load.js';
import { loadProbe, probeDirection, saveProbe, type ProbeJson } from '../../probes/artifact.js';
import { loadSae, saveSae } from '../../sae/io.js';
import type { Sae } from '../../sae/sae.js';
import { loadVector, saveVector } from '../../steering/vector.js';
import { loadPairs } from '../../steering/pairs.js';
import { parseBehavior } from '../../steering/behavior.js';
import { readGreedyReference } from '../../src/runtime/verify.js';
import { batch, header } from '../store/store-helpers.js';
import { applyBytes, applyMutation, gemmaArrays, isByteMutation, mutateNpz, mutation, npzFromSeed, npzSeed, type FileKind, type Mutation } from './fuzz-mutations.js';

/** A case that takes longer than this is a failure (a hang, or work proportional to a forged size). */
export const TIME_LIMIT_MS = 5_000;
/** A case whose buffers grow by more than this is a failure (an allocation sized by a forged field). */
export const ALLOC_LIMIT_BYTES = 256 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Targets

/** One file of a target's valid instance. */
export interface SeedFile {
  readonly name: string;
  readonly kind: FileKind;
  readonly data: Buffer;
}

export interface FuzzTarget {
  /** Short name, used in test titles and bench rows. */
  readonly name: string;
  /** Valid instances (variants), each a list of files; built once and cached. */
  readonly seeds: () => readonly (readonly SeedFile[])[];
  /** Calls the loader on the case directory and reads everything it opened. */
  readonly parse: (dir: string) => void;
}

/** Builds files by running a writer in a scratch directory and reading back what it wrote. */
function filesWrittenBy(write: (dir: string) => void, kinds: Readonly<Record<string, FileKind>>): SeedFile[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-fuzz-seed-'));
  try {
    write(dir);
    return Object.entries(kinds).map(([name, kind]) => ({ name, kind, data: fs.readFileSync(path.join(dir, name)) }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function cached<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

const f32 = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + 0.3) * scale);

/** Reads every tensor an opened checkpoint lists, with the reader for its dtype. */
function readAll(w: OpenedWeights): void {
  for (const [name, info] of w.tensors) {
    if (isFloatDtype(info.dtype)) w.readF32(name);
    else w.readInts(name);
  }
}

/** A safetensors file holding every dtype the reader accepts, hand-built (writeSafetensors writes four). */
function mixedSafetensors(): Buffer {
  const parts: { name: string; dtype: string; shape: number[]; data: Buffer }[] = [
    { name: 'a.f32', dtype: 'F32', shape: [2, 3], data: Buffer.from(f32(6).buffer) },
    { name: 'b.f16', dtype: 'F16', shape: [4], data: Buffer.from(Uint16Array.from([0x3c00, 0xc000, 0x7c00, 0x0001]).buffer) },
    { name: 'c.bf16', dtype: 'BF16', shape: [2], data: Buffer.from(Uint16Array.from([0x3f80, 0xbf80]).buffer) },
    { name: 'd.f64', dtype: 'F64', shape: [1], data: Buffer.from(Float64Array.from([Math.PI]).buffer) },
    { name: 'e.i64', dtype: 'I64', shape: [3], data: Buffer.from(BigInt64Array.from([1n, -2n, 2n ** 40n]).buffer) },
    { name: 'f.i32', dtype: 'I32', shape: [2], data: Buffer.from(Int32Array.from([7, -7]).buffer) },
    { name: 'g.u8', dtype: 'U8', shape: [3], data: Buffer.from([1, 2, 255]) },
    { name: 'h.bool', dtype: 'BOOL', shape: [2], data: Buffer.from([0, 1]) },
    { name: 'i.empty', dtype: 'F32', shape: [0, 5], data: Buffer.alloc(0) },
    { name: 'j.scalar', dtype: 'F32', shape: [], data: Buffer.from(Float32Array.from([2.5]).buffer) },
  ];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const p of parts) {
    header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: [offset, offset + p.data.length] };
    offset += p.data.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, ...parts.map((p) => p.data)]);
}

const safetensorsTarget: FuzzTarget = {
  name: 'safetensors',
  seeds: cached(() => [[{ name: 'model.safetensors', kind: 'safetensors' as const, data: mixedSafetensors() }]]),
  parse: (dir) => readAll(openSafetensors(path.join(dir, 'model.safetensors'))),
};

const shardedTarget: FuzzTarget = {
  name: 'safetensors index',
  seeds: cached(() => {
    const kinds = { 'model.safetensors.index.json': 'json', 'model-00001-of-00002.safetensors': 'safetensors', 'model-00002-of-00002.safetensors': 'safetensors' } as const;
    return [
      filesWrittenBy((dir) => {
        writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), { 'wte.weight': { dtype: 'F32', shape: [4, 2], data: f32(8) }, 'h.0.w': { dtype: 'F16', shape: [2], data: Uint16Array.from([0x3c00, 0x4000]) } });
        writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), { 'h.1.w': { dtype: 'F32', shape: [3], data: f32(3) }, 'ids': { dtype: 'I64', shape: [2], data: BigInt64Array.from([3n, 4n]) } });
        const weight_map = { 'wte.weight': 'model-00001-of-00002.safetensors', 'h.0.w': 'model-00001-of-00002.safetensors', 'h.1.w': 'model-00002-of-00002.safetensors', ids: 'model-00002-of-00002.safetensors' };
        fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 60 }, weight_map }, null, 2));
      }, kinds),
    ];
  }),
  parse: (dir) => readAll(openShardedSafetensors(path.join(dir, 'model.safetensors.index.json'))),
};

const configTarget: FuzzTarget = {
  name: 'config.json',
  seeds: cached(() => {
    const gpt2 = { model_type: 'gpt2', n_embd: 8, n_layer: 2, n_head: 2, n_positions: 16, vocab_size: 10, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, n_inner: null, bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: true };
    const llama = { model_type: 'llama', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 64, rms_norm_eps: 1e-5, rope_theta: 10000, hidden_act: 'silu', tie_word_embeddings: false, vocab_size: 10, bos_token_id: 1, eos_token_id: [2, 3], rope_scaling: null };
    const gen = { bos_token_id: 1, eos_token_id: [2], pad_token_id: 0, do_sample: false };
    return [gpt2, llama].map((config) => [
      { name: 'config.json', kind: 'json' as const, data: Buffer.from(JSON.stringify(config, null, 2)) },
      { name: 'generation_config.json', kind: 'json' as const, data: Buffer.from(JSON.stringify(gen, null, 2)) },
    ]);
  }),
  parse: (dir) => {
    const { file, config } = readModelConfig(dir);
    openFamily(config, file);
    readGenerationDefaults(dir, config);
  },
};

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** A WordLevel tokenizer (normalizer, pre-tokenizer, template post-processor) and a small BPE one. */
const tokenizerTarget: FuzzTarget = {
  name: 'tokenizer.json',
  seeds: cached(() => {
    const wordLevel = {
      version: '1.0', truncation: null, padding: null,
      added_tokens: [special(0, '[UNK]'), special(1, '<s>')],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Lowercase' }] },
      pre_tokenizer: { type: 'WhitespaceSplit' },
      post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordLevel', vocab: { '[UNK]': 0, '<s>': 1, the: 2, cat: 3, sat: 4, mat: 5 }, unk_token: '[UNK]' },
    };
    const bpe = {
      version: '1.0', truncation: null, padding: null,
      added_tokens: [special(9, '<|endoftext|>')],
      normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: "\\s+|[a-z]+|[^a-z\\s]+" }, behavior: 'Isolated', invert: false },
      post_processor: null,
      decoder: { type: 'Fuse' },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: false, vocab: { '<unk>': 0, t: 1, h: 2, e: 3, th: 4, the: 5, ' ': 6, c: 7, a: 8, '<|endoftext|>': 9 }, merges: ['t h', 'th e'] },
    };
    const config = { clean_up_tokenization_spaces: false, bos_token: '<s>', model_max_length: 1024 };
    return [wordLevel, bpe].map((json) => [
      { name: 'tokenizer.json', kind: 'json' as const, data: Buffer.from(JSON.stringify(json, null, 2)) },
      { name: 'tokenizer_config.json', kind: 'json' as const, data: Buffer.from(JSON.stringify(config)) },
    ]);
  }),
  parse: (dir) => {
    const tok = loadTokenizer(dir);
    if (!tok) return;
    const ids = tok.encode('The cat sat on the mat. Ångström 🙂 <|endoftext|>');
    tok.decode(ids);
    tok.decode(ids, true);
    for (let id = 0; id < Math.min(tok.vocabSize, 16); id++) tok.idToToken(id);
  },
};

const modelDirTarget: FuzzTarget = {
  name: 'model directory',
  seeds: cached(() => {
    const files = [...configTarget.seeds()[1], ...tokenizerTarget.seeds()[0]];
    const weights = filesWrittenBy((dir) => {
      writeSafetensors(path.join(dir, 'model.safetensors'), { 'model.embed_tokens.weight': { dtype: 'F32', shape: [10, 8], data: f32(80) }, 'model.norm.weight': { dtype: 'F32', shape: [8], data: f32(8) } }, { format: 'pt' });
    }, { 'model.safetensors': 'safetensors' });
    return [[...files, ...weights]];
  }),
  parse: (dir) => {
    readModelConfig(dir);
    readAll(openModelWeights(dir));
    loadTokenizer(dir);
  },
};

/** Capture directories: f32 with labels (two shards, several record batches) and f16 without labels. */
const captureTarget: FuzzTarget = {
  name: 'capture (manifest + Arrow shards)',
  seeds: cached(() =>
    (['f32', 'f16'] as const).map((dtype) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-fuzz-seed-'));
      try {
        const h = dtype === 'f32' ? header({ dtype }) : header({ dtype, label_columns: [] });
        const w = CaptureWriter.open(dir, h, { shardRows: 24, recordBatchRows: 10 });
        const b = batch(0, 8);
        if (dtype === 'f16') delete (b as { labels?: unknown }).labels;
        w.append(b);
        w.finish();
        // The shuffle's cached permutation (permutation-3.bin) is in the directory too.
        const c = openCapture(dir);
        for (const _ of c.shuffledBatches({ hooks: c.hooks[0].name, batchRows: 5, seed: 3 })) void _;
        c.close();
        return fs.readdirSync(dir).sort().map((name) => ({ name, kind: (name.endsWith('.json') ? 'json' : 'bytes') as FileKind, data: fs.readFileSync(path.join(dir, name)) }));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }),
  ),
  parse: (dir) => {
    const c = openCapture(dir);
    try {
      for (const _ of c.batches({ batchRows: 7 })) void _;
      for (const l of c.labelColumns) c.labels(l.name);
      for (const h of c.hooks) {
        c.stats(h.name);
        for (const _ of c.shuffledBatches({ hooks: h.name, batchRows: 5, seed: 3 })) void _;
      }
    } finally {
      c.close();
    }
  },
};

const datasetTarget: FuzzTarget = {
  name: 'JSONL dataset',
  seeds: cached(() => {
    const lines = [
      { text: 'The cat sat.', mood: 'happy', score: 1.5, neg: false },
      { text: 'Ångström 🙂', mood: 'sad', score: -2, neg: true },
      { token_ids: [1, 2, 3], mood: null, score: 0, neg: false },
      { text: '', mood: 'happy', score: 3, neg: null },
    ];
    return [[{ name: 'data.jsonl', kind: 'jsonl' as const, data: Buffer.from(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`) }]];
  }),
  parse: (dir) => void readDatasetFile(path.join(dir, 'data.jsonl')),
};

const pairsTarget: FuzzTarget = {
  name: 'JSONL steering pairs',
  seeds: cached(() => {
    const lines = [{ positive: 'I love it', negative: 'I hate it' }, { positive: 'happy 🙂', negative: 'sad', note: 1 }];
    return [[{ name: 'pairs.jsonl', kind: 'jsonl' as const, data: Buffer.from(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`) }]];
  }),
  parse: (dir) => void loadPairs(path.join(dir, 'pairs.jsonl')),
};

const vectorTarget: FuzzTarget = {
  name: 'steering vector',
  seeds: cached(() => [
    filesWrittenBy(
      (dir) => void saveVector(dir, 'blocks.1.hook_resid_post', f32(6), { method: 'mean-diff', positions: 'last', pooling: 'mean', hook_mean_norm: 3.5, model: { id: 'tiny', hash: 'abc' }, dataset: { path: 'pairs.jsonl', sha256: 'feed', pairs: 4 }, source: { seed: 1 }, command: ['interp', 'vector'] }),
      { 'vector.json': 'json', 'vector.safetensors': 'safetensors' },
    ),
  ]),
  parse: (dir) => {
    loadVector(dir);
    loadVector(path.join(dir, 'vector.safetensors'), 'blocks.0.hook_resid_pre');
  },
};

function probeJson(output: 'binary' | 'one-vs-rest', k: number, d: number, preprocess: 'none' | 'center' | 'standardize'): ProbeJson {
  return {
    format: 'interp.probe', format_version: 1, hook: 'blocks.1.hook_resid_post', d, kind: 'logistic',
    label: { field: 'mood', classes: output === 'binary' ? ['sad', 'happy'] : ['a', 'b', 'c'].slice(0, k), positive: output === 'binary' ? 'happy' : null },
    output, preprocess, input: 'x', training: { C: 1 },
    metrics: { train_acc: 1, test_acc: 0.9, auc: 0.95, baseline_acc: 0.5, control_acc: 0.5, selectivity: 0.4, majority_acc: 0.5 },
    definitions: { baseline: 'b', control: 'c', auc: 'a' },
    capture: { dir: '/captures/x', manifest_sha256: 'feed', model: { id: 'tiny', hash: 'abc' }, rows: 100 },
    versions: { interp: '0.1.0' }, command: ['interp', 'train-probe'],
  };
}

const probeTarget: FuzzTarget = {
  name: 'probe artifact',
  seeds: cached(() =>
    [
      { output: 'binary' as const, k: 1, pre: 'standardize' as const },
      { output: 'one-vs-rest' as const, k: 3, pre: 'center' as const },
    ].map(({ output, k, pre }) =>
      filesWrittenBy(
        (dir) => saveProbe(dir, { json: probeJson(output, k, 4, pre), k, d: 4, weight: f32(k * 4), bias: f32(k), mean: f32(4), ...(pre === 'standardize' ? { scale: Float32Array.from([1, 2, 0.5, 1]) } : {}) }),
        { 'probe.json': 'json', 'probe.safetensors': 'safetensors' },
      ),
    ),
  ),
  parse: (dir) => void probeDirection(loadProbe(dir)),
};

function sae(architecture: 'relu' | 'topk' | 'jumprelu', d: number, m: number): Sae {
  return {
    cfg: {
      architecture, d_in: d, d_sae: m, k: architecture === 'topk' ? 2 : null, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: true,
      normalize_activations: 'none', reshape_activations: 'none', ...(architecture === 'topk' ? { rescale_acts_by_decoder_norm: false } : {}),
      metadata: { sae_lens_version: '6.12.0', model_name: 'tiny', hook_name: 'blocks.1.hook_resid_post', hook_head_index: null, context_size: 8, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
    },
    weights: { W_enc: f32(d * m), W_dec: f32(m * d), b_enc: f32(m), b_dec: f32(d), threshold: architecture === 'jumprelu' ? f32(m, 0.1).map(Math.abs) : null },
  };
}

const saeLensTarget: FuzzTarget = {
  name: 'SAE (SAELens)',
  seeds: cached(() =>
    (['relu', 'topk', 'jumprelu'] as const).map((a) =>
      filesWrittenBy((dir) => saveSae(path.join(dir, 'sae'), sae(a, 3, 4), { sparsity: f32(4) }), { 'sae/cfg.json': 'json', 'sae/sae_weights.safetensors': 'safetensors', 'sae/sparsity.safetensors': 'safetensors' }),
    ),
  ),
  parse: (dir) => void loadSae(path.join(dir, 'sae')),
};

const sparsifyTarget: FuzzTarget = {
  name: 'SAE (sparsify)',
  seeds: cached(() => {
    const d = 3;
    const n = 4;
    const tensors = (decShape: number[]): Record<string, WritableTensor> => ({ 'encoder.weight': { dtype: 'F32', shape: [n, d], data: f32(n * d) }, 'encoder.bias': { dtype: 'F32', shape: [n], data: f32(n) }, W_dec: { dtype: 'F32', shape: decShape, data: f32(n * d) }, b_dec: { dtype: 'F32', shape: [d], data: f32(d) } });
    const cfg = { activation: 'topk', expansion_factor: 1, normalize_decoder: true, num_latents: n, k: 2, multi_topk: false, skip_connection: false, transcode: false, d_in: d };
    return [[n, d], [d, n]].map((decShape) =>
      filesWrittenBy(
        (dir) => {
          fs.mkdirSync(path.join(dir, 'layers.1'));
          fs.writeFileSync(path.join(dir, 'layers.1', 'cfg.json'), JSON.stringify(cfg));
          writeSafetensors(path.join(dir, 'layers.1', 'sae.safetensors'), tensors(decShape));
        },
        { 'layers.1/cfg.json': 'json', 'layers.1/sae.safetensors': 'safetensors' },
      ),
    );
  }),
  parse: (dir) => void loadSae(dir),
};

const gemmaScopeTarget: FuzzTarget = {
  name: 'SAE (Gemma Scope params.npz)',
  seeds: cached(() => [false, true].map((deflate) => [{ name: 'params.npz', kind: 'npz' as const, data: npzSeed(gemmaArrays(), deflate) }])),
  parse: (dir) => void loadSae(path.join(dir, 'params.npz')),
};

const lexiconTarget: FuzzTarget = {
  name: 'steering lexicon',
  seeds: cached(() => [
    [{ name: 'words.json', kind: 'json' as const, data: Buffer.from(JSON.stringify({ positive: ['glad', 'Happy'], negative: ['sad'] })) }],
    [{ name: 'words.txt', kind: 'bytes' as const, data: Buffer.from('glad\nhappy\n😀\n') }],
  ]),
  parse: (dir) => void parseBehavior(`lexicon:${path.join(dir, fs.existsSync(path.join(dir, 'words.json')) ? 'words.json' : 'words.txt')}`),
};

const greedyTarget: FuzzTarget = {
  name: 'greedy.json (verify reference)',
  seeds: cached(() => [[{ name: 'greedy.json', kind: 'json' as const, data: Buffer.from(JSON.stringify({ prompt_ids: [1, 2, 3], generated_ids: [4, 5] })) }]]),
  parse: (dir) => void readGreedyReference(dir),
};

export const TARGETS: readonly FuzzTarget[] = [
  safetensorsTarget,
  shardedTarget,
  configTarget,
  tokenizerTarget,
  modelDirTarget,
  captureTarget,
  datasetTarget,
  pairsTarget,
  lexiconTarget,
  vectorTarget,
  probeTarget,
  saeLensTarget,
  sparsifyTarget,
  gemmaScopeTarget,
  greedyTarget,
];

// ---------------------------------------------------------------------------------------------
// Cases and the property

export interface FuzzCase {
  /** Which valid instance (modulo the number of variants). */
  readonly variant: number;
  /** Which file of it is corrupted (modulo the number of files). */
  readonly file: number;
  /** Applied in order to that file. */
  readonly mutations: readonly Mutation[];
}

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  variant: fc.nat(),
  file: fc.nat(),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
});

/** How one case ended. */
export type Outcome =
  | { readonly kind: 'accepted'; readonly ms: number }
  | { readonly kind: 'rejected'; readonly ms: number; readonly message: string }
  | { readonly kind: 'failed'; readonly ms: number; readonly why: string };

/** Writes the case's files into a fresh directory under `root`, returning it. */
export function writeCase(target: FuzzTarget, c: FuzzCase, root: string): string {
  const seeds = target.seeds();
  const files = seeds[c.variant % seeds.length];
  const victim = c.file % files.length;
  const dir = fs.mkdtempSync(path.join(root, 'case-'));
  files.forEach((f, i) => {
    let data = f.data;
    if (f.kind === 'npz') {
      // JSON mutations edit the arrays' headers, then byte mutations edit the archive.
      const ms = i === victim ? c.mutations : [];
      for (const m of ms) if (!isByteMutation(m)) data = mutateNpz(data, m);
      data = npzFromSeed(data);
      for (const m of ms) if (isByteMutation(m)) data = applyBytes(data, m);
    } else if (i === victim) {
      for (const m of c.mutations) data = applyMutation(data, f.kind, m);
    }
    const file = path.join(dir, f.name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  });
  return dir;
}

/** Runs one case and classifies it; the case directory is removed afterwards. */
export function runCase(target: FuzzTarget, c: FuzzCase, root: string): Outcome {
  const dir = writeCase(target, c, root);
  const buffersBefore = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  let outcome: Outcome;
  try {
    target.parse(dir);
    outcome = { kind: 'accepted', ms: performance.now() - start };
  } catch (err) {
    const ms = performance.now() - start;
    if (!(err instanceof InterpError)) {
      const e = err as Error;
      outcome = { kind: 'failed', ms, why: `${e?.constructor?.name ?? typeof err} leaked: ${e?.message ?? String(err)}\n${e?.stack ?? ''}` };
    } else if (!err.message.includes(dir)) {
      outcome = { kind: 'failed', ms, why: `${err.name} does not name the file (no "${dir}" in the message): ${err.message}` };
    } else {
      outcome = { kind: 'rejected', ms, message: err.message };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const grown = process.memoryUsage().arrayBuffers - buffersBefore;
  if (outcome.ms > TIME_LIMIT_MS) outcome = { kind: 'failed', ms: outcome.ms, why: `took ${outcome.ms.toFixed(0)} ms (limit ${TIME_LIMIT_MS} ms)` };
  else if (grown > ALLOC_LIMIT_BYTES) outcome = { kind: 'failed', ms: outcome.ms, why: `buffers grew by ${(grown / 2 ** 20).toFixed(0)} MiB (limit ${ALLOC_LIMIT_BYTES / 2 ** 20} MiB)` };
  return outcome;
}

/** A scratch root for case directories. */
export function fuzzRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'interp-fuzz-'));
}

/** Describes a case for a failure message: the target, the file corrupted and the mutations. */
export function describeCase(target: FuzzTarget, c: FuzzCase): string {
  const seeds = target.seeds();
  const files = seeds[c.variant % seeds.length];
  const replacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : Array.isArray(v) && v.length > 20 ? `[${v.length} items]` : v);
  return `${target.name}, variant ${c.variant % seeds.length}, file ${files[c.file % files.length].name}: ${JSON.stringify(c.mutations, replacer).slice(0, 600)}`;
}
