import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOS_ID, TINYWORLD_MODEL_DIR, idsToWords, parseWords } from '../../../datasets/tinyworld/index.js';

const file = (name: string): string => path.join(TINYWORLD_MODEL_DIR, name);
const hasModel = fs.existsSync(file('greedy.json')) && fs.existsSync(file('reference.safetensors'));

/** The JSON header of a safetensors file, entries in file order. */
function header(name: string): [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][] {
  const buf = fs.readFileSync(file(name));
  const n = Number(buf.readBigUInt64LE(0));
  const json = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  return Object.entries(json).filter(([k]) => k !== '__metadata__').sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
}

describe.skipIf(!hasModel)('committed TinyWorld model files', () => {
  const greedy = JSON.parse(fs.readFileSync(file('greedy.json'), 'utf8')) as { prompt_ids: number[]; generated_ids: number[]; full_sequence: number[] };

  it('greedy.json: full_sequence = prompt + generated, from BOS, and the greedy story stays in the grammar', () => {
    expect(greedy.full_sequence).toEqual([...greedy.prompt_ids, ...greedy.generated_ids]);
    expect(greedy.prompt_ids[0]).toBe(BOS_ID);
    const run = parseWords(idsToWords(greedy.full_sequence.slice(1)));
    expect(run.rejectedAt).toBe(-1);
  });

  it('reference.safetensors: input_ids, logits, then the hooks of every layer in forward order', () => {
    const entries = header('reference.safetensors');
    const names = entries.map(([k]) => k);
    expect(names.slice(0, 3)).toEqual(['input_ids', 'logits', 'hook_embed']);
    expect(names.slice(-2)).toEqual(['ln_final.hook_normalized', 'ln_final.output']);
    expect(names.length).toBe(3 + 4 * 15 + 2);
    expect(entries[0][1].dtype).toBe('I64');
    expect(entries.slice(1).every(([, v]) => v.dtype === 'F32')).toBe(true);
    const [B, T] = entries[0][1].shape;
    expect(B).toBe(2);
    expect(Object.fromEntries(entries)['blocks.0.attn.hook_k'].shape).toEqual([B, T, 2, 32]);
  });

  it('model.safetensors: the HF Llama names, untied lm_head', () => {
    const names = header('model.safetensors').map(([k]) => k);
    expect(names).toContain('model.embed_tokens.weight');
    expect(names).toContain('lm_head.weight');
    expect(names).toContain('model.layers.3.mlp.down_proj.weight');
    expect(names.length).toBe(2 + 4 * 9 + 1);
  });
});
