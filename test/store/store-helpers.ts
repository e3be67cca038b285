/**
 * Synthetic captures for the store tests: a header, and batches whose every value is a pure
 * function of (hook, seq, pos, dim), so any row read back can be checked without keeping a copy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaptureBatch, CaptureHeader, HookSpec, LabelValue } from '../../src/store/index.js';

export const HOOKS: HookSpec[] = [
  { name: 'blocks.0.hook_resid_post', d: 6 },
  { name: 'blocks.1.hook_mlp_out', d: 3 },
];

export function header(over: Partial<CaptureHeader> = {}): CaptureHeader {
  return {
    model: { id: 'tiny', dir: '/models/tiny', hash: 'abc123', revision: null, family: 'llama', weights: 'raw' },
    dataset: { path: 'data.jsonl', sha256: 'feed', sequences: 1000 },
    hooks: HOOKS,
    dtype: 'f32',
    policy: { prependBos: true, paddingSide: 'left', maxTokens: null },
    positions: 'all',
    context: 8,
    seed: 0,
    command: ['interp', 'capture', '--out', 'x'],
    versions: { interp: '0.1.0', onnxruntime: '1.30.0', node: 'v20' },
    label_columns: [
      { name: 'mood', type: 'string' },
      { name: 'score', type: 'number' },
      { name: 'neg', type: 'boolean' },
    ],
    ...over,
  };
}

/** Tokens in sequence `seq` (varies, so shards cut mid-way through batches). */
export function seqLen(seq: number): number {
  return 1 + ((seq * 7) % 9);
}

/** The activation written for (hook k, seq, pos, dim i): mixed signs and magnitudes. */
export function value(k: number, seq: number, pos: number, i: number): number {
  return Math.sin(seq * 1.37 + pos * 0.71 + i * 2.3 + k) * (1 + ((seq + i) % 5)) + 0.25 * k;
}

export function labelsOf(seq: number, pos: number): { mood: LabelValue; score: LabelValue; neg: LabelValue } {
  return {
    mood: (seq + pos) % 4 === 3 ? null : ['happy', 'sad', 'ångry 😠'][(seq + pos) % 4],
    score: pos % 3 === 2 ? null : seq * 0.5 + pos,
    neg: seq % 5 === 4 ? null : (seq + pos) % 2 === 0,
  };
}

export function tokenOf(seq: number, pos: number): string {
  return ` tok${(seq * 3 + pos) % 11}`;
}

/** Rows of sequences [from, to), with `lengths` giving each sequence's token count. */
export function batch(from: number, to: number, hooks: HookSpec[] = HOOKS, lengths: (s: number) => number = seqLen): CaptureBatch {
  const seq: number[] = [];
  const pos: number[] = [];
  for (let s = from; s < to; s++) for (let p = 0; p < lengths(s); p++) (seq.push(s), pos.push(p));
  const n = seq.length;
  const acts: Record<string, Float32Array> = {};
  hooks.forEach((h, k) => {
    const x = new Float32Array(n * h.d);
    for (let r = 0; r < n; r++) for (let i = 0; i < h.d; i++) x[r * h.d + i] = value(k, seq[r], pos[r], i);
    acts[h.name] = x;
  });
  const labels = seq.map((s, r) => labelsOf(s, pos[r]));
  return {
    seq: Int32Array.from(seq),
    pos: Int32Array.from(pos),
    tokenId: Int32Array.from(seq.map((s, r) => (s * 3 + pos[r]) % 11)),
    token: seq.map((s, r) => tokenOf(s, pos[r])),
    labels: { mood: labels.map((l) => l.mood), score: labels.map((l) => l.score), neg: labels.map((l) => l.neg) },
    hooks: acts,
  };
}

export function tmpDir(prefix = 'interp-store-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
