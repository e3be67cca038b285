/**
 * `interp capture` end to end: what the store holds equals what the runtime computes (exact for
 * f32, 1e-3 for f16), positions modes, a kill -9 at several points resumes into a store whose
 * shards are byte-identical to an uninterrupted run's, a different model/dataset/hook set is
 * refused, and the export command writes the Hugging Face datasets layout.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from '@uwdata/flechette';
import { describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/runtime/model.js';
import { openCapture } from '../../src/store/index.js';
import { runCli } from '../helpers/cli.js';
import { fixture, isolateCache } from '../helpers/fixtures.js';

const cacheDir = isolateCache();
const env = { INTERP_CACHE_DIR: cacheDir };
const gpt2 = fixture('gpt2-tiny');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'interp-capture-'));

/** A JSONL dataset of token-id documents of varied lengths, with labels. */
function writeDataset(dir: string, n: number, seed = 1): string {
  const lines: string[] = [];
  let x = seed;
  const next = () => { x = (x * 1103515245 + 12345) % 2147483648; return x; };
  for (let i = 0; i < n; i++) {
    const len = 3 + (next() % 20);
    lines.push(JSON.stringify({ token_ids: Array.from({ length: len }, () => next() % 512), parity: i % 2 === 0 ? 'even' : 'odd', idx: len - 1 }));
  }
  const file = path.join(dir, 'data.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const HOOKS = 'blocks.0.hook_resid_post,blocks.2.hook_mlp_out';
const storiesHf = fixture('stories260K-hf');

describe.skipIf(storiesHf === null)('the token column', () => {
  it('holds each token as it reads in the text (SentencePiece "▁he" → " he"), with its id beside it', async () => {
    const dir = tmp();
    const data = path.join(dir, 'text.jsonl');
    writeFileSync(data, `${JSON.stringify({ text: 'One day, he found a ball.\nThe end' })}\n`);
    const out = path.join(dir, 'cap');
    const r = await runCli(['capture', '--model', storiesHf as string, '--dataset', data, '--hooks', 'resid_post.0', '--out', out, '--no-report'], env);
    expect(r.code, r.stderr).toBe(0);
    const b = [...openCapture(out).batches({ hooks: [], batchRows: 100 })][0];
    expect(b.token.join('')).toBe('<s> One day, he found a ball.\nThe end');
    expect(b.token.slice(0, 3)).toEqual(['<s>', ' One', ' day']);
  });
});


describe.skipIf(gpt2 === null)('interp capture', () => {
  it('stores exactly the runtime values (f32) and within 1e-3 (f16), one row per token', async () => {
    const dir = tmp();
    const data = writeDataset(dir, 12);
    const model = await HookedTransformer.load(gpt2 as string);
    const docs = readFileSync(data, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { token_ids: number[] });
    for (const dtype of ['f32', 'f16']) {
      const out = path.join(dir, `cap-${dtype}`);
      const r = await runCli(['capture', '--model', gpt2 as string, '--dataset', data, '--hooks', HOOKS, '--out', out, '--dtype', dtype, '--batch-size', '5', '--no-report', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      const capture = openCapture(out);
      expect(capture.rows).toBe(docs.reduce((a, d) => a + d.token_ids.length, 0));
      let row = 0;
      for (const b of capture.batches({ hooks: HOOKS.split(','), batchRows: 40 })) {
        for (let i = 0; i < b.rows; i++, row++) {
          const seq = b.seq[i];
          expect(b.tokenId[i]).toBe(docs[seq].token_ids[b.pos[i]]);
        }
      }
      for (const [seq, doc] of docs.entries()) {
        const ref = await model.run([doc.token_ids], { fetch: HOOKS.split(','), logits: false });
        for (const b of capture.batches({ hooks: HOOKS.split(','), batchRows: 1000 })) {
          for (const hook of HOOKS.split(',')) {
            const want = ref.hooks.get(hook)?.data as Float32Array;
            const got = b.hooks[hook];
            for (let i = 0; i < b.rows; i++) {
              if (b.seq[i] !== seq) continue;
              for (let j = 0; j < 64; j++) {
                const w = want[b.pos[i] * 64 + j];
                const g = got[i * 64 + j];
                // Batched (padded) and alone agree to 1e-5; f16 adds its rounding.
                expect(Math.abs(g - w)).toBeLessThanOrEqual(dtype === 'f32' ? 1e-5 + 1e-5 * Math.abs(w) : 1e-3 * Math.max(1, Math.abs(w)));
              }
            }
          }
        }
      }
      capture.close();
    }
    await model.dispose();
  });

  it('keeps the last token, the token a field points at, or the mean', async () => {
    const dir = tmp();
    const data = writeDataset(dir, 7);
    const docs = readFileSync(data, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { token_ids: number[]; idx: number });
    for (const positions of ['last', 'idx', 'mean']) {
      const out = path.join(dir, positions);
      const r = await runCli(['capture', '--model', gpt2 as string, '--dataset', data, '--hooks', 'resid_post.1', '--out', out, '--positions', positions, '--no-report'], env);
      expect(r.code, r.stderr).toBe(0);
      const capture = openCapture(out);
      expect(capture.rows).toBe(7);
      const b = [...capture.batches({ hooks: [], batchRows: 100 })][0];
      for (let i = 0; i < 7; i++) expect(b.pos[i]).toBe(positions === 'mean' ? -1 : docs[i].token_ids.length - 1);
      expect(b.labels.parity[0]).toBe('even');
      capture.close();
    }
  });

  it('resumes after kill -9 at several points into byte-identical shards', async () => {
    const dir = tmp();
    const data = writeDataset(dir, 240, 5);
    const args = (out: string) => ['capture', '--model', gpt2 as string, '--dataset', data, '--hooks', HOOKS, '--out', out, '--batch-size', '4', '--shard-rows', '60', '--dtype', 'f16', '--no-report'];
    const clean = path.join(dir, 'clean');
    expect((await runCli(args(clean), env)).code).toBe(0);
    const entry = fileURLToPath(new URL('../helpers/cli-entry.ts', import.meta.url));
    // Kill once the store holds k complete shards (mid-capture by construction), and once early.
    for (const k of [0, 1, 3, 5]) {
      const out = path.join(dir, `killed-${k}`);
      const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args(out)], { env: { ...process.env, ...env }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      let shardsAtKill = -1;
      for (let waited = 0; waited < 60_000; waited += 10) {
        const m = path.join(out, 'manifest.json');
        const shards = existsSync(m) ? (JSON.parse(readFileSync(m, 'utf8')) as { shards: unknown[] }).shards.length : 0;
        if (shards >= k && (k > 0 || existsSync(out))) { shardsAtKill = shards; break; }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      child.kill('SIGKILL');
      await exited;
      const m = JSON.parse(existsSync(path.join(out, 'manifest.json')) ? readFileSync(path.join(out, 'manifest.json'), 'utf8') : '{"complete":false}') as { complete: boolean };
      expect(m.complete, `killed at ${shardsAtKill} shards`).toBe(false);
      const resumed = await runCli([...args(out), '--json'], env);
      expect(resumed.code, resumed.stderr).toBe(0);
      const shards = readdirSync(clean).filter((f) => f.endsWith('.arrow')).sort();
      expect(readdirSync(out).filter((f) => f.endsWith('.arrow')).sort()).toEqual(shards);
      for (const f of shards) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(clean, f))), `killed at ${k}: ${f}`).toBe(true);
      const a = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
      const b = JSON.parse(readFileSync(path.join(clean, 'manifest.json'), 'utf8'));
      expect(a.stats).toEqual(b.stats);
      expect(a.rows).toBe(b.rows);
    }
  }, 300_000);

  it('refuses to resume a capture made with other hooks, and never overwrites it', async () => {
    const dir = tmp();
    const data = writeDataset(dir, 5);
    const out = path.join(dir, 'cap');
    expect((await runCli(['capture', '--model', gpt2 as string, '--dataset', data, '--hooks', 'resid_post.0', '--out', out, '--no-report'], env)).code).toBe(0);
    const before = readFileSync(path.join(out, 'manifest.json'));
    const r = await runCli(['capture', '--model', gpt2 as string, '--dataset', data, '--hooks', 'resid_post.1', '--out', out, '--no-report'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/hooks/);
    expect(readFileSync(path.join(out, 'manifest.json')).equals(before)).toBe(true);
    const unknown = await runCli(['capture', '--model', gpt2 as string, '--dataset', data, '--hooks', 'resid_psot.1', '--out', path.join(dir, 'x'), '--no-report'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/resid_post/);
    expect(existsSync(path.join(dir, 'x', 'manifest.json'))).toBe(false);
    const badLine = path.join(dir, 'bad.jsonl');
    writeFileSync(badLine, '{"token_ids":[1,2]}\n{"token_ids":"oops"}\n');
    const bad = await runCli(['capture', '--model', gpt2 as string, '--dataset', badLine, '--hooks', 'resid_post.1', '--out', path.join(dir, 'y'), '--no-report'], env);
    expect(bad.stderr).toMatch(/bad\.jsonl:2: "token_ids"/);
    expect(existsSync(path.join(dir, 'y'))).toBe(false);
  });

  it('exports the hf-datasets layout that an independent Arrow reader loads', async () => {
    const dir = tmp();
    const lines = Array.from({ length: 6 }, (_, i) => JSON.stringify({ token_ids: Array.from({ length: 16 }, (_, j) => (i * 31 + j * 7) % 512) }));
    writeFileSync(path.join(dir, 'fixed.jsonl'), lines.join('\n'));
    const out = path.join(dir, 'cap');
    expect((await runCli(['capture', '--model', gpt2 as string, '--dataset', path.join(dir, 'fixed.jsonl'), '--hooks', 'resid_post.2', '--out', out, '--context', '16', '--no-report'], env)).code).toBe(0);
    const hf = path.join(dir, 'hf');
    const r = await runCli(['export', '--format', 'hf-datasets', '--hook', 'blocks.2.hook_resid_post', out, hf, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(hf, 'state.json'), 'utf8'))._data_files[0].filename).toBe('data-00000-of-00001.arrow');
    const table = tableFromIPC(readFileSync(path.join(hf, 'data-00000-of-00001.arrow')));
    expect(table.numRows).toBe(6);
    const field = table.schema.fields.find((f) => f.name === 'blocks.2.hook_resid_post');
    expect(field?.metadata?.get('ARROW:extension:name')).toBe('datasets.features.features.Array2DExtensionType');
    const capture = openCapture(out);
    const first = [...capture.batches({ hooks: ['blocks.2.hook_resid_post'], batchRows: 16 })][0].hooks['blocks.2.hook_resid_post'];
    const row0 = table.getChild('blocks.2.hook_resid_post')?.at(0) as ArrayLike<ArrayLike<number>>;
    expect(row0[3][5]).toBeCloseTo(first[3 * 64 + 5], 6);
    capture.close();
  });
});
