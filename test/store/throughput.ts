/**
 * Store throughput on synthetic data (12 hooks × 768 dims, f16 and f32, ~950 MB each):
 * `node --import tsx test/store/throughput.ts`. Not a vitest suite; numbers feed DESIGN.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CaptureWriter, openCapture } from '../../src/store/index.js';
import { header } from './store-helpers.js';

for (const dtype of ['f16', 'f32'] as const) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const hooks = Array.from({ length: 12 }, (_, l) => ({ name: `blocks.${l}.hook_resid_post`, d: 768 }));
  const rowsPerBatch = 1024, batches = dtype === 'f16' ? 50 : 25;
  const x = new Float32Array(rowsPerBatch * 768);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i) * 3;
  const acts = Object.fromEntries(hooks.map((h) => [h.name, x]));
  const token = new Array<string>(rowsPerBatch).fill(' the');
  const w = CaptureWriter.open(dir, header({ dtype, hooks, label_columns: [] }));
  let appendMs = 0;
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const seq = new Int32Array(rowsPerBatch), pos = new Int32Array(rowsPerBatch);
    for (let r = 0; r < rowsPerBatch; r++) { seq[r] = b * 8 + (r >> 7); pos[r] = r & 127; }
    const a = performance.now();
    w.append({ seq, pos, tokenId: new Int32Array(rowsPerBatch), token, hooks: acts });
    appendMs += performance.now() - a;
  }
  w.finish();
  const wt = (performance.now() - t0) / 1000;
  const bytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  const c = openCapture(dir);
  let t1 = performance.now();
  for (const _ of c.batches({ batchRows: 4096, columns: [] }));
  const rt = (performance.now() - t1) / 1000;
  t1 = performance.now();
  for (const _ of c.batches({ batchRows: 4096, hooks: [hooks[5].name], columns: [] }));
  const r1 = (performance.now() - t1) / 1000;
  t1 = performance.now();
  for (const _ of c.shuffledBatches({ hooks: hooks[5].name, batchRows: 4096, seed: 1 }));
  const rs = (performance.now() - t1) / 1000;
  const oneHook = bytes / 12;
  console.log(`${dtype}: ${(bytes / 1e6).toFixed(0)} MB, ${c.rows} rows; write ${(bytes / 1e6 / wt).toFixed(0)} MB/s (${wt.toFixed(2)} s); read all hooks ${(bytes / 1e6 / rt).toFixed(0)} MB/s (as f32 out: ${(c.rows*12*768*4/1e6/rt).toFixed(0)} MB/s); one hook sequential ${(oneHook / 1e6 / r1).toFixed(0)} MB/s; one hook shuffled ${(oneHook / 1e6 / rs).toFixed(0)} MB/s (${(c.rows / rs / 1e3).toFixed(0)}k rows/s)`);
  c.close();
  fs.rmSync(dir, { recursive: true });
}
