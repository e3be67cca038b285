/**
 * `interp verify`, `generate` and `hooks` as a user runs them, and the bad-input contract: one
 * clear message naming the file and the fix, a non-zero exit code, no stack trace.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors, writeSafetensors } from '../../src/model/index.js';
import type { WritableTensor } from '../../src/model/index.js';
import { runCli } from '../helpers/cli.js';
import { fixture, isolateCache } from '../helpers/fixtures.js';

const cacheDir = isolateCache();
const env = { INTERP_CACHE_DIR: cacheDir };
const llama = fixture('llama-stories260K');
const gpt2 = fixture('gpt2-tiny');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'interp-cli-'));

/** A user error: non-zero exit, a message on stderr that mentions `mention`, and no stack trace. */
async function expectUserError(args: string[], mention: RegExp): Promise<void> {
  const r = await runCli(args, env);
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).toMatch(/^interp: /m);
  expect(r.stderr).toMatch(mention);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack frames
}

describe.skipIf(llama === null || gpt2 === null)('interp verify', () => {
  it('passes on both fixtures and prints the JSON summary', async () => {
    for (const dir of [gpt2, llama] as string[]) {
      const r = await runCli(['verify', '--model', dir, '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { pass: boolean; hooks: { name: string; max_abs: number; pass: boolean }[]; greedy: { pass: boolean } | null };
      expect(out.pass).toBe(true);
      expect(out.hooks.every((h) => h.pass && typeof h.max_abs === 'number')).toBe(true);
      if (dir === llama) expect(out.greedy?.pass).toBe(true);
    }
  });

  it('names the first diverging hook and exits 1 when a reference tensor is off', async () => {
    const dir = tmp();
    const ref = openSafetensors(path.join(gpt2 as string, 'reference.safetensors'));
    const tensors: Record<string, WritableTensor> = {};
    for (const [name, info] of ref.tensors) {
      if (info.dtype === 'I64') tensors[name] = { dtype: 'I64', shape: [...info.shape], data: BigInt64Array.from(ref.readInts(name).data.map(BigInt)) };
      else {
        const data = ref.readF32(name);
        if (name === 'blocks.1.hook_resid_mid' || name === 'blocks.2.hook_resid_post') data[7] += 0.01;
        tensors[name] = { dtype: 'F32', shape: [...info.shape], data };
      }
    }
    writeSafetensors(path.join(dir, 'reference.safetensors'), tensors);
    const r = await runCli(['verify', '--model', gpt2 as string, '--reference', path.join(dir, 'reference.safetensors')], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('first diverging hook: blocks.1.hook_resid_mid');
  });
});

describe.skipIf(llama === null)('interp generate and hooks', () => {
  it('generates from ids exactly as given, greedily, reproducing greedy.json', async () => {
    const greedy = JSON.parse(readFileSync(path.join(llama as string, 'greedy.json'), 'utf8')) as { generated_ids: number[] };
    const r = await runCli(['generate', '--model', llama as string, '--ids', '1', '--max-new-tokens', '10', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ids).toEqual(greedy.generated_ids.slice(0, 10));
  });

  it('lists hooks with shapes', async () => {
    const r = await runCli(['hooks', '--model', llama as string, '--json'], env);
    const out = JSON.parse(r.stdout) as { hooks: { name: string; shape: (number | string)[] }[] };
    const q = out.hooks.find((h) => h.name === 'blocks.0.attn.hook_k');
    expect(q?.shape).toEqual(['batch', 'pos', 4, 8]);
    expect(out.hooks.some((h) => h.name === 'hook_pos_embed')).toBe(false);
  });

  it('rejects ids outside the vocabulary and bad flag values', async () => {
    await expectUserError(['generate', '--model', llama as string, '--ids', '1,99999'], /99999.*outside the vocabulary/);
    await expectUserError(['generate', '--model', llama as string, '--ids', '1', '--temperature', 'hot'], /--temperature/);
    await expectUserError(['generate', '--model', llama as string], /--prompt.*--ids/);
  });
});

describe.skipIf(gpt2 === null)('bad model directories', () => {
  const copyModel = () => {
    const dir = tmp();
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(path.join(gpt2 as string, f), path.join(dir, f));
    return dir;
  };

  it('missing config.json', async () => {
    const dir = copyModel();
    rmSync(path.join(dir, 'config.json'));
    await expectUserError(['hooks', '--model', dir], /config\.json/);
    writeFileSync(path.join(dir, 'config.json'), '{"model_type": ');
    await expectUserError(['hooks', '--model', dir], /config\.json/);
  });

  it('unknown model_type lists the supported ones', async () => {
    const dir = copyModel();
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'mamba' }));
    await expectUserError(['hooks', '--model', dir], /mamba.*not supported[\s\S]*gpt2, llama/);
  });

  it('a tensor whose shape disagrees with the config', async () => {
    const dir = copyModel();
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, n_inner: 128 }));
    await expectUserError(['hooks', '--model', dir], /h\.0\.mlp\.c_fc\.weight.*\[64, 256\].*\[64, 128\]/);
  });

  it('truncated, non-JSON, and out-of-file safetensors headers', async () => {
    const original = readFileSync(path.join(gpt2 as string, 'model.safetensors'));
    const headerLength = Number(original.readBigUInt64LE(0));
    const cases: [string, Buffer][] = [
      ['truncated header', original.subarray(0, 8 + Math.floor(headerLength / 2))],
      ['not JSON', Buffer.concat([original.subarray(0, 8), Buffer.from('x'.repeat(headerLength)), original.subarray(8 + headerLength)])],
      ['offsets past the end', original.subarray(0, original.length - 1000)],
    ];
    for (const [, bytes] of cases) {
      const dir = copyModel();
      writeFileSync(path.join(dir, 'model.safetensors'), bytes);
      await expectUserError(['hooks', '--model', dir], /model\.safetensors/);
    }
  });

  it('a directory that does not exist, and pickled weights', async () => {
    await expectUserError(['hooks', '--model', path.join(tmp(), 'nope')], /nope/);
    const dir = tmp();
    writeFileSync(path.join(dir, 'config.json'), readFileSync(path.join(gpt2 as string, 'config.json')));
    writeFileSync(path.join(dir, 'pytorch_model.bin'), 'not really a pickle');
    await expectUserError(['hooks', '--model', dir], /safe_serialization=True/);
  });
});

const storiesHf = fixture('stories260K-hf');

describe.skipIf(storiesHf === null)('interp generate with a SentencePiece tokenizer (stories260K-hf)', () => {
  const prompt = 'Once upon a time, there was a kid named Tim. One day,';

  it('prints the continuation with its leading space, in --json and as text', async () => {
    const j = await runCli(['generate', '--model', storiesHf as string, '--prompt', prompt, '--max-new-tokens', '8', '--json'], env);
    expect(j.code, j.stderr).toBe(0);
    expect((JSON.parse(j.stdout) as { text: string }).text).toMatch(/^ he found/);
    const t = await runCli(['generate', '--model', storiesHf as string, '--prompt', prompt, '--max-new-tokens', '8'], env);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/One day, he found/);
  });
});

describe('the embedded TinyWorld model', () => {
  const dir = 'datasets/tinyworld/model';

  it('passes interp verify against the reference its PyTorch training code wrote, greedy ids included', async () => {
    const r = await runCli(['verify', '--model', dir, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { pass: boolean; hooks: unknown[]; greedy: { pass: boolean } | null };
    expect(out.pass).toBe(true);
    expect(out.hooks.length).toBeGreaterThan(50);
    expect(out.greedy?.pass).toBe(true);
  });

  it('continues a story prompt with grammatical TinyWorld text', async () => {
    const { isStoryText } = await import('../../datasets/tinyworld/index.js');
    const r = await runCli(['generate', '--model', dir, '--prompt', 'Once upon a time', '--max-new-tokens', '200', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { text: string; stop_reason: string };
    expect(out.stop_reason).toBe('eos');
    expect(isStoryText(`Once upon a time${out.text}`)).toBe(true);
  });
});
