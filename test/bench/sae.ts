/**
 * `npm run bench -- sae [--steps N] [--shape B,D,M,K] [--no-lock]`: tokens/s of one TopK SAE
 * training step (d_in 768, 24,576 latents, k 32, batch 4,096 by default) on interp's engine
 * against the same step in PyTorch on the CPU (test/bench/_sae_peer.py: dense decode, SAELens
 * math, OpenBLAS), in the same run on the same machine.
 *
 * interp's step is sae/step.ts + sae/update.ts as `interp train-sae` runs them: dense encoder
 * matmul, row top-k, sparse decode and sparse decoder/encoder gradients (only the k selected
 * rows per token), decoder-gradient projection, Adam, row renormalisation. Both sides use
 * synthetic data uploaded once, one warm-up step, then the median of N timed steps, each
 * including the wait for completion. The peer runs first, then interp (never overlapping), under
 * `flock /tmp/interp-bench.lock` like the other benchmarks. Thread count: all cores on both
 * sides (lavapipe uses one thread per core; torch.set_num_threads(nproc)). Two rows: wall-clock
 * tokens/s, and tokens per CPU-second of each process (all threads), which other load on a
 * shared machine distorts less.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getGpu, scope, sync, upload } from '../../src/engine/index.js';
import { trainConfig } from '../../sae/config.js';
import { disposeParams, initialParams, uploadParams } from '../../sae/params.js';
import { trainStep } from '../../sae/step.js';
import { adamStates, disposeAdamStates, updateParams } from '../../sae/update.js';
import type { BenchRow, BenchRun } from './types.js';
import { acquireBenchLock } from './_lock.js';

const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Options {
  steps: number;
  shape: [b: number, d: number, m: number, k: number];
  lock: boolean;
}

function parseArgs(args: readonly string[]): Options {
  const o: Options = { steps: 3, shape: [4096, 768, 24576, 32], lock: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--steps') o.steps = Number(args[++i]);
    else if (a === '--shape') o.shape = args[++i].split(',').map(Number) as Options['shape'];
    else if (a === '--no-lock') o.lock = false;
    else throw new Error(`sae bench: unknown option ${a} (options: --steps N --shape B,D,M,K --no-lock)`);
  }
  return o;
}


/** OpenBLAS for the peer, passive OpenMP waiting (see test/bench/runtime.ts peerEnv). */
function peerEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  let target = '';
  try {
    target = fs.realpathSync('/usr/lib/x86_64-linux-gnu/libblas.so.3');
  } catch {
    /* no alternative installed */
  }
  if (!target.includes('openblas') && fs.existsSync(path.join(OPENBLAS_DIR, 'libblas.so.3'))) env.LD_LIBRARY_PATH = [OPENBLAS_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

interface Measured {
  readonly tokensPerS: number;
  /** Tokens per CPU-second of the process (all its threads): robust to other load on the machine. */
  readonly tokensPerCpuS: number;
}

function runPeer(o: Options, threads: number): { name: string | null; measured: Measured | null; note?: string } {
  const script = fileURLToPath(new URL('./_sae_peer.py', import.meta.url));
  const python = process.env.INTERP_BENCH_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [script, ...o.shape.map(String), String(o.steps), String(threads)], { encoding: 'utf8', env: peerEnv(threads), timeout: 1_800_000 });
  if (r.status !== 0) return { name: null, measured: null, note: `peer failed: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}` };
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { peer?: string; tokens_per_s?: number; tokens_per_cpu_s?: number });
  const result = lines.find((l) => l.tokens_per_s);
  return { name: lines[0]?.peer ?? null, measured: result ? { tokensPerS: result.tokens_per_s!, tokensPerCpuS: result.tokens_per_cpu_s! } : null };
}

async function timeInterp(o: Options): Promise<Measured> {
  const [B, d, m, k] = o.shape;
  const gpu = await getGpu();
  const cfg = trainConfig({ variant: 'topk', dIn: d, dSae: m, k, batchTokens: B });
  const params = uploadParams(gpu, initialParams(cfg, new Float32Array(d)), d, m);
  const adam = adamStates(params);
  let s = 12345;
  const gauss = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s / 4294967296) * 3.4641 - 1.7320; }; // unit variance
  const x = upload(gpu, Float32Array.from({ length: B * d }, gauss), [B, d]);
  const step = () => scope(() => {
    const out = trainStep(cfg, params, { x, lambda: 0, dead: null });
    updateParams(cfg, params, out.grads, adam, cfg.lr);
  });
  step();
  await sync(gpu);
  const times: number[] = [];
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < o.steps; i++) {
    const t = performance.now();
    step();
    await sync(gpu);
    times.push((performance.now() - t) / 1000);
  }
  const cpu = process.cpuUsage(cpuStart);
  x.dispose();
  disposeAdamStates(adam);
  disposeParams(params);
  return { tokensPerS: B / median(times), tokensPerCpuS: (B * o.steps) / ((cpu.user + cpu.system) / 1e6) };
}

export const run: BenchRun = async function* (args) {
  const o = parseArgs(args);
  const release = o.lock ? await acquireBenchLock('sae') : () => {};
  try {
    const load = os.loadavg()[0];
    if (load > 0.5) console.error(`sae bench: note: load average ${load.toFixed(2)} before starting; other processes slow both sides`);
    const threads = os.cpus().length;
    const peer = runPeer(o, threads);
    if (peer.note) console.error(`sae bench: ${peer.note}`);
    const mine = await timeInterp(o);
    const [B, d, m, k] = o.shape;
    const name = `topk train step B ${B}, d_in ${d}, d_sae ${m}, k ${k}`;
    const row = (metric: string, unit: string, value: number, peerValue: number | null): BenchRow => ({
      bench: 'sae', case: name, metric, value, unit, peer: peerValue === null ? null : peer.name, peer_value: peerValue, ratio: peerValue === null ? null : value / peerValue,
    });
    yield row('tokens/s', 'tokens/s', mine.tokensPerS, peer.measured?.tokensPerS ?? null);
    yield row('tokens_per_cpu_second', 'tokens/cpu-s', mine.tokensPerCpuS, peer.measured?.tokensPerCpuS ?? null);
  } finally {
    release();
  }
};
