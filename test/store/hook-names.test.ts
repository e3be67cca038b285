/**
 * A capture resolves hook names through the one hook table: full names, TransformerLens' short
 * forms (resid_post.0, mlp_out.1), and an UnknownHookError listing the captured hooks otherwise;
 * `interp export`'s library takes short names too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnknownHookError } from '../../src/errors.js';
import { CaptureWriter, exportHfDatasets, openCapture } from '../../src/store/index.js';
import { HOOKS, batch, header, tmpDir } from './store-helpers.js';

function capture(): string {
  const dir = tmpDir();
  const w = CaptureWriter.open(dir, header({ dtype: 'f32', positions: 'all', context: 8 }), { shardRows: 30, recordBatchRows: 11 });
  w.append(batch(0, 4, HOOKS, () => 8));
  w.finish();
  return dir;
}

describe('Capture.hook', () => {
  const dir = capture();
  const cap = openCapture(dir);

  it('resolves full names and get_act_name short forms to the captured hook', () => {
    expect(cap.hook('blocks.0.hook_resid_post')).toBe('blocks.0.hook_resid_post');
    expect(cap.hook('resid_post.0')).toBe('blocks.0.hook_resid_post');
    expect(cap.hook('mlp_out.1')).toBe('blocks.1.hook_mlp_out');
    expect(cap.hookIndex('mlp_out.1')).toBe(1);
  });

  it('refuses a hook the capture lacks with an UnknownHookError naming the capture and its hooks', () => {
    for (const name of ['resid_post.1', 'blocks.0.hook_attn_out', 'nonsense']) {
      let error: unknown;
      try {
        cap.hook(name);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnknownHookError);
      expect((error as Error).message).toContain(dir);
      expect((error as Error).message).toContain('blocks.0.hook_resid_post, blocks.1.hook_mlp_out');
    }
  });

  it('exports a hook given by its short name, under its full name', () => {
    const out = path.join(tmpDir(), 'hf');
    const res = exportHfDatasets(dir, 'resid_post.0', out);
    expect(res.rows).toBe(4);
    const info = JSON.parse(fs.readFileSync(path.join(out, 'dataset_info.json'), 'utf8')) as { features: Record<string, unknown> };
    expect(Object.keys(info.features)).toContain('blocks.0.hook_resid_post');
  });
});
