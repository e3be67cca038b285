/**
 * `--device webgpu`: onnxruntime-node's bundled WebGPU provider (lavapipe where there is no GPU)
 * runs every fixture to the same 1e-4 as the CPU, with the same greedy ids; a batched,
 * variable-length capture equals the CPU capture; steered greedy generation gives the CPU's ids.
 * `--device cuda` without the CUDA provider, and an unknown device, end in one clear message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../../src/model/index.js';
import { deviceError, runtimeDevice, supportedBackends } from '../../src/runtime/device.js';
import { generate } from '../../src/runtime/generate.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { compareGreedy, compareReference, readGreedyReference } from '../../src/runtime/verify.js';
import { openCapture, readHook } from '../../src/store/index.js';
import { runCapture } from '../../src/capture/capture.js';
import { parseDataset } from '../../src/dataset/load.js';
import { trainSae } from '../../sae/trainer.js';
import { gpuOrSkip } from '../engine/helpers.js';
import { writeRandomModel, writeWordModel } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { fixture, isolateCache } from '../helpers/fixtures.js';

const cacheDir = isolateCache();
// The engine's Dawn and onnxruntime's are separate builds, but both need a Vulkan (or Metal/D3D12) adapter.
const { gpu, reason } = await gpuOrSkip();
const FIXTURES = ['gpt2-tiny', 'llama-stories260K', 'neox-tiny', 'gemma2-tiny', 'gemma3-tiny', 'qwen3-tiny'];

describe.skipIf(!gpu)(`runtime on --device webgpu${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const name of FIXTURES) {
    const dir = fixture(name);
    it.skipIf(dir === null)(`${name}: every hook within 1e-4 of the reference, greedy ids equal greedy.json`, async () => {
      const model = await HookedTransformer.load(dir as string, { device: 'webgpu' });
      try {
        expect(model.device).toBe('webgpu');
        const report = await compareReference(model, openSafetensors(path.join(dir as string, 'reference.safetensors')), { atol: 1e-4, rtol: 1e-4 });
        expect(report.firstFailure).toBeNull();
        expect(report.pass).toBe(true);
        const greedy = readGreedyReference(dir as string);
        if (greedy) expect((await compareGreedy(model, greedy)).pass).toBe(true);
      } finally {
        await model.dispose();
      }
    });
  }

  it('interp capture --device webgpu equals the CPU capture within 1e-4 on a batched, variable-length dataset', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-device-capture-'));
    const words = ['once', 'upon', 'a', 'time', 'cat', 'dog', 'sat', 'ran'];
    writeWordModel(path.join(dir, 'model'), words, 3);
    const lines = Array.from({ length: 11 }, (_, i) => JSON.stringify({ text: words.slice(0, 2 + (i * 5) % 7).concat(i % 2 ? ['cat'] : ['dog', 'ran']).join(' ') }));
    writeFileSync(path.join(dir, 'data.jsonl'), lines.join('\n'));
    const hooks = ['resid_post.0', 'attn_out.1', 'mlp_out.1', 'resid_post.1'];
    const captures: Record<string, ReturnType<typeof openCapture>> = {};
    for (const device of ['cpu', 'webgpu']) {
      const out = path.join(dir, device);
      const r = await runCli(['capture', '--model', path.join(dir, 'model'), '--dataset', path.join(dir, 'data.jsonl'), '--hooks', hooks.join(','), '--batch-size', '4', '--out', out, '--device', device, '--json'], { INTERP_CACHE_DIR: cacheDir });
      expect(r.code, r.stderr).toBe(0);
      captures[device] = openCapture(out);
    }
    expect(captures.webgpu.rows).toBe(captures.cpu.rows);
    for (const hook of captures.cpu.hooks.map((h) => h.name)) {
      const a = readHook(captures.cpu, hook);
      const b = readHook(captures.webgpu, hook);
      expect(b.length).toBe(a.length);
      const worst = a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i])), 0);
      expect(worst, hook).toBeLessThan(1e-4);
    }
  });

  it('a webgpu capture and SAE training on the engine share one process (two Dawn instances, one card)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-device-handoff-'));
    const words = ['once', 'upon', 'a', 'time', 'cat', 'dog', 'sat', 'ran'];
    writeWordModel(path.join(dir, 'model'), words, 5);
    const text = Array.from({ length: 24 }, (_, i) => JSON.stringify({ text: words.slice(i % 3, 3 + (i % 5)).join(' ') })).join('\n');
    const model = await HookedTransformer.load(path.join(dir, 'model'), { device: 'webgpu' });
    try {
      const summary = await runCapture({
        model, modelId: 'word-model', dataset: parseDataset(text, 'inline.jsonl', 'jsonl'), hooks: ['resid_post.1'], out: path.join(dir, 'cap'),
        positions: { kind: 'all' }, batchSize: 4, context: null, maxTokens: null, dtype: 'f32', seed: 0, command: ['test'],
      });
      expect(summary.manifest.rows).toBeGreaterThan(0);
      const capture = openCapture(path.join(dir, 'cap'));
      const r = await trainSae({ capture, hook: 'blocks.1.hook_resid_post', out: path.join(dir, 'sae'), config: { variant: 'topk', dSae: 32, k: 2, batchTokens: 16, lr: 3e-3, tokens: 20 * 16, deadTokens: 64 } });
      expect(r.sae.cfg.d_in).toBe(model.config.dModel);
      // the model still runs after the engine has used the card
      const again = await model.run([[1, 2, 3]], { fetch: ['blocks.1.hook_resid_post'], logits: false });
      expect(again.hooks.get('blocks.1.hook_resid_post')?.data.every(Number.isFinite)).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  it('steered greedy generation gives the CPU\'s ids', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'interp-device-steer-'));
    writeRandomModel(dir, { family: 'gemma', modelType: 'gemma2', layers: 2, d: 32, heads: 4, kvHeads: 2, headDim: 8, dMlp: 64, vocab: 60, theta: 1e4, window: 3, queryPreAttnScalar: 8, attnSoftcap: 50, finalSoftcap: 30 }, 4);
    const vector = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i) * 2);
    const prompts = [[2, 5, 9, 14, 3], [2, 7], [2, 40, 41, 42, 43, 44, 45]];
    const ids: Record<string, number[][]> = {};
    for (const device of ['cpu', 'webgpu'] as const) {
      const model = await HookedTransformer.load(dir, { device });
      try {
        const r = await generate(model, prompts, { maxNewTokens: 12, stopAtEos: false, interventions: [{ kind: 'add', hook: 'blocks.0.hook_resid_post', value: vector }] });
        ids[device] = r.sequences.map((s) => s.generated);
      } finally {
        await model.dispose();
      }
    }
    expect(ids.webgpu).toEqual(ids.cpu);
  });
});

describe('runtime devices that cannot be used', () => {
  it('an unknown device is a usage error naming the choices', () => {
    expect(() => runtimeDevice('tpu')).toThrow(/--device "tpu" is not a runtime device/);
  });

  const cudaBundled = supportedBackends().some((b) => b.name === 'cuda' && b.bundled);
  it.skipIf(cudaBundled)('--device cuda without the CUDA provider: one message naming the install command, non-zero exit, no stack trace', async () => {
    const dir = fixture('gpt2-tiny') ?? (() => {
      const d = mkdtempSync(path.join(tmpdir(), 'interp-device-cuda-'));
      writeRandomModel(d, { family: 'gpt2', layers: 1, d: 16, heads: 2, vocab: 30, nPos: 16, untiedHead: false }, 1);
      return d;
    })();
    const r = await runCli(['generate', '--model', dir, '--ids', '1,2,3', '--max-new-tokens', '2', '--device', 'cuda'], { INTERP_CACHE_DIR: cacheDir });
    if (r.code === 0) return; // a machine with the CUDA provider installed runs it
    expect(r.stderr).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('GPU provider failures', () => {
  it('a failed forward names the adapter limit and the CPU fallback', () => {
    const e = deviceError('webgpu', new Error('Non-zero status code returned while running Gather node. ... Too many storage buffers in shader. Current: 18, Max is 16'), 'run');
    expect(e.message).toMatch(/webgpu provider failed running the model/);
    expect(e.fix).toMatch(/--device cpu/);
    expect(e.fix).toMatch(/limits are too small/);
    expect(deviceError('cuda', new Error('CUDA failure 2: out of memory'), 'run').fix).toMatch(/--device cpu/);
  });
});
