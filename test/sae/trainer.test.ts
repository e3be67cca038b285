/**
 * The trainer end to end on a synthetic capture: it learns, a resumed run equals an uninterrupted
 * one exactly, memory does not grow with steps, and bad input stops with a clear message.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getGpu, liveTensorBytes, scope, sync, upload } from '../../src/engine/index.js';
import { openCapture } from '../../src/store/index.js';
import { loadCheckpoint } from '../../sae/checkpoint.js';
import { trainConfig } from '../../sae/config.js';
import { loadSae } from '../../sae/io.js';
import { evaluateSae } from '../../sae/metrics.js';
import { disposeParams, initialParams, uploadParams } from '../../sae/params.js';
import { trainStep } from '../../sae/step.js';
import { checkpointDir, trainSae, type TrainSaeOptions } from '../../sae/trainer.js';
import { adamStates, disposeAdamStates, updateParams } from '../../sae/update.js';
import { runCli } from '../helpers/cli.js';
import { gpuOrSkip } from '../engine/helpers.js';
import { HOOK, syntheticCapture, tempDir } from './helpers.js';

const { gpu, reason } = await gpuOrSkip();
const d = 16;
const B = 128;
const captureDir = syntheticCapture(path.join(tempDir('train'), 'capture'), { d, sequences: 200, len: 16, atoms: 12, shardRows: 1000 });

function options(out: string, over: Partial<TrainSaeOptions['config']> = {}, resume = false): TrainSaeOptions {
  return { capture: openCapture(captureDir), hook: HOOK, out, resume, config: { variant: 'topk', dSae: 64, k: 4, batchTokens: B, lr: 3e-3, tokens: 40 * B, deadTokens: 6 * B, ...over } };
}

describe.skipIf(!gpu)(`trainSae${reason ? ` (skipped: ${reason})` : ''}`, () => {
  for (const variant of ['topk', 'batchtopk', 'relu', 'jumprelu'] as const) {
    it(`${variant}: learns the synthetic dictionary (held-out EV rises well above 0)`, async () => {
      const out = path.join(tempDir(variant), 'run');
      // BatchTopK's saved threshold is a running average (SAELens rate 0.01, made for long runs):
      // over 80 steps it would still lag the early, larger thresholds, so this run uses 0.1.
      const over = variant === 'relu' ? { k: undefined, sparsityCoefficient: 0.05 } : variant === 'jumprelu' ? { k: undefined, sparsityCoefficient: 0.01 } : variant === 'batchtopk' ? { thresholdRate: 0.1 } : {};
      const o = options(out, { variant, tokens: 80 * B, ...over });
      const trace: number[] = [];
      const r = await trainSae({ ...o, progress: (p) => trace.push(p.explainedVariance) });
      const m = await evaluateSae(r.sae, o.capture, { hook: HOOK, sequences: r.heldOut });
      expect(trace.at(-1)!).toBeGreaterThan(trace[0]);
      expect(m.explainedVariance).toBeGreaterThan(0.6);
      expect(m.tokens).toBeGreaterThan(0);
      expect(loadSae(path.join(out, 'checkpoint')).sae.cfg.architecture).toBe(variant === 'batchtopk' ? 'jumprelu' : variant);
    });
  }

  for (const variant of ['topk', 'batchtopk'] as const) {
    it(`${variant}: a run stopped at a checkpoint and resumed equals the uninterrupted run exactly (AuxK, epochs crossed)`, async () => {
      const whole = await trainSae(options(path.join(tempDir('whole'), 'run'), { variant }));
      const out = path.join(tempDir('split'), 'run');
      await trainSae(options(out, { variant, tokens: 17 * B }));
      const resumed = await trainSae(options(out, { variant }, true));
      expect(resumed.resumed).toBe(true);
      expect(resumed.steps).toBe(40);
      for (const name of ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold'] as const) expect(resumed.sae.weights[name]).toEqual(whole.sae.weights[name]);
    });
  }

  it('refuses to resume into another width, k or capture, naming the field', async () => {
    const out = path.join(tempDir('compat'), 'run');
    await trainSae(options(out, { tokens: 2 * B }));
    await expect(trainSae(options(out, { dSae: 32 }, true))).rejects.toThrow(/trained with --width \(d_sae\) 64, this run asks for 32/);
    await expect(trainSae(options(out, { k: 8 }, true))).rejects.toThrow(/--k 4, this run asks for 8/);
    await expect(trainSae(options(path.join(tempDir('none'), 'run'), {}, true))).rejects.toThrow(/holds no trainer checkpoint/);
  });

  it('a damaged trainer.json or state tensors of the wrong size are refused, naming the file', async () => {
    const out = path.join(tempDir('damaged'), 'run');
    await trainSae(options(out, { tokens: 2 * B }));
    const dir = checkpointDir(out);
    const metaFile = path.join(dir, 'trainer.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { config: { dSae: number } };
    fs.writeFileSync(metaFile, 'null');
    expect(() => loadCheckpoint(dir)).toThrow(new RegExp(`${metaFile}: not a trainer record`));
    fs.writeFileSync(metaFile, JSON.stringify({ ...meta, config: { ...meta.config, dSae: 32 } }));
    expect(() => loadCheckpoint(dir)).toThrow(/trainer_state\.safetensors: param\.W_enc has 1024 values, but the checkpoint's config \(d_in 16, d_sae 32\) needs 512/);
  });

  it('a capture without the hook is refused with the hooks it has', async () => {
    await expect(trainSae({ ...options(path.join(tempDir('hook'), 'run')), hook: 'blocks.3.hook_mlp_out' })).rejects.toThrow(/no hook blocks\.3\.hook_mlp_out in this capture \(hooks: blocks\.1\.hook_resid_post\)/);
  });

  it('NaN in activations stops training, naming the shard file and row', async () => {
    const dir = syntheticCapture(path.join(tempDir('nan'), 'capture'), { d, sequences: 40, len: 16, atoms: 12, shardRows: 300 });
    const c = openCapture(dir);
    const second = c.shards[1];
    const first = c.batches({ hooks: [HOOK], batchRows: second.firstRow + 6, columns: [] }).next().value!.hooks[HOOK];
    const row = first.slice((second.firstRow + 5) * d, (second.firstRow + 6) * d); // row 5 of the second shard
    c.close();
    const bytes = fs.readFileSync(second.path);
    const at = Buffer.from(bytes).indexOf(Buffer.from(row.buffer, row.byteOffset, 16));
    expect(at).toBeGreaterThan(0);
    bytes.writeFloatLE(NaN, at + 4);
    fs.writeFileSync(second.path, bytes);
    const o = { ...options(path.join(tempDir('nanrun'), 'run'), { evalFraction: 0, tokens: 8 * B }), capture: openCapture(dir) };
    await expect(trainSae(o)).rejects.toThrow(new RegExp(`${second.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} row 5 \\(global row ${second.firstRow + 5}\\) of hook ${HOOK.replace(/\./g, '\\.')} holds NaN at dimension 1`));
  });

  it('GPU memory does not grow over training steps (every step lives in a scope)', async () => {
    const g = await getGpu();
    const cfg = trainConfig({ variant: 'topk', dIn: d, dSae: 64, k: 4 });
    const params = uploadParams(g, initialParams(cfg, new Float32Array(d)), d, 64);
    const adam = adamStates(params);
    const x = upload(g, Float32Array.from({ length: B * d }, (_, i) => Math.sin(i)), [B, d]);
    const step = () => scope(() => updateParams(cfg, params, trainStep(cfg, params, { x, lambda: 0, dead: null }).grads, adam, 1e-3));
    step();
    await sync(g);
    const before = liveTensorBytes(g);
    for (let i = 0; i < 50; i++) step();
    await sync(g);
    expect(liveTensorBytes(g)).toBe(before);
    x.dispose();
    disposeAdamStates(adam);
    disposeParams(params);
  });
});

describe.skipIf(!gpu)(`interp train-sae and sae import${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('--json prints the summary with nulls for model metrics; the output folder loads as SAELens', async () => {
    const out = path.join(tempDir('cli'), 'run');
    const r = await runCli(['train-sae', '--capture', captureDir, '--hook', 'resid_post.1', '--out', out, '--width', '64', '--k', '4', '--batch-tokens', String(B), '--tokens', String(10 * B), '--json']);
    expect(r.stderr).not.toMatch(/interp:/);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(j)).toEqual(['hook', 'arch', 'd_in', 'd_sae', 'k', 'tokens', 'checkpoint', 'metrics']);
    expect(j).toMatchObject({ hook: HOOK, arch: 'topk', d_in: d, d_sae: 64, k: 4, tokens: 10 * B });
    expect(Object.keys(j.metrics)).toEqual(['l0', 'mse', 'explained_variance', 'dead_fraction', 'dense_fraction', 'ce_loss_score', 'kl_score', 'delta_lm_loss']);
    expect(j.metrics.ce_loss_score).toBeNull();
    expect(loadSae(j.checkpoint).sparsity).not.toBeNull();
    const imported = path.join(tempDir('cli'), 'imported');
    const imp = await runCli(['sae', 'import', out, '--out', imported, '--json']);
    expect(imp.code).toBe(0);
    expect(JSON.parse(imp.stdout).layout).toBe('saelens');
  });

  it('bad flags end with one clear message and a non-zero exit', async () => {
    const r = await runCli(['train-sae', '--capture', captureDir, '--hook', HOOK, '--out', path.join(tempDir('cli'), 'bad'), '--arch', 'relu', '--k', '4']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--k 4 given for --arch relu/);
  });
});
