/**
 * `npm run bench -- engine [--steps N] [--quick]`: the GPU engine's matmul GFLOPS against PyTorch +
 * OpenBLAS in the same run, and resident memory over a matmul + Adam training loop.
 *
 * Matmul cases: (M, K, N) = (4096, 768, 3072) and (4096, 768, 24576) — an SAE encoder at batch
 * 4096, d_in 768, d_sae 4× and 32× — each plain (NN), with A transposed (TN: dW = xᵀ·dy) and
 * with B transposed (NT: dx = dy·Wᵀ). Timing: one warm-up, then the median of several runs, each
 * including dispatch and the wait for completion, excluding upload.
 * Memory: a loop of x[16, 768]·W[768, 3072], MSE, backward matmul and an Adam step on W, with a
 * wait per step; RSS is read at steps 100 and 2,000 and at the end. The driver's allocations
 * settle during the first ~1,500 steps; after that RSS should stay flat.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getGpu, sync } from '../../src/engine/device.js';
import { adamState, adamStep, matmul, mse, scope, upload, empty, liveTensorBytes, trimPool } from '../../src/engine/index.js';
import type { BenchRow, BenchRun } from './types.js';

interface MatmulCase {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly variant: 'NN' | 'TN' | 'NT';
  readonly repeats: number;
}

const CASES: readonly MatmulCase[] = [
  ...(['NN', 'TN', 'NT'] as const).map((variant) => ({ m: 4096, k: 768, n: 3072, variant, repeats: 5 })),
  ...(['NN', 'TN', 'NT'] as const).map((variant) => ({ m: 4096, k: 768, n: 24576, variant, repeats: 3 })),
];

const label = (c: MatmulCase): string => `matmul ${c.m}x${c.k}x${c.n} ${c.variant}`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface PeerResult {
  readonly name: string | null;
  /** Median GFLOPS by case label. */
  readonly gflops: Map<string, number>;
  /** GFLOP per CPU-second of the peer process by case label. */
  readonly perCpu: Map<string, number>;
  readonly note?: string;
}

/** Runs the PyTorch peer once for all cases (before the GPU work, so the two never overlap). */
function runPeer(cases: readonly MatmulCase[]): PeerResult {
  const script = fileURLToPath(new URL('./_engine_peer.py', import.meta.url));
  const python = process.env.INTERP_BENCH_PYTHON ?? '/usr/bin/python3';
  const args = cases.map((c) => `${c.m},${c.k},${c.n},${c.variant},${c.repeats}`);
  const result = spawnSync(python, [script, ...args], { encoding: 'utf8', timeout: 900_000 });
  if (result.status !== 0) {
    return { name: null, gflops: new Map(), perCpu: new Map(), note: `peer failed: ${(result.stderr || String(result.error)).trim().split('\n').at(-1)}` };
  }
  const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { peer?: string; case?: string; gflops?: number; gflop_per_cpu_s?: number });
  const byCase = new Map(lines.filter((l) => l.case).map((l) => [l.case!, l]));
  const key = (c: MatmulCase): string => `${c.m},${c.k},${c.n},${c.variant},${c.repeats}`;
  return {
    name: lines[0]?.peer ?? null,
    gflops: new Map(cases.map((c) => [label(c), byCase.get(key(c))?.gflops ?? NaN])),
    perCpu: new Map(cases.map((c) => [label(c), byCase.get(key(c))?.gflop_per_cpu_s ?? NaN])),
  };
}

/** Median GFLOPS, and GFLOP per CPU-second of this process (Dawn and lavapipe's threads included). */
async function timeMatmul(c: MatmulCase): Promise<{ gflops: number; perCpu: number }> {
  const gpu = await getGpu();
  const a = empty(gpu, c.variant === 'TN' ? [c.k, c.m] : [c.m, c.k]);
  const b = empty(gpu, c.variant === 'NT' ? [c.n, c.k] : [c.k, c.n]);
  a.write(Float32Array.from({ length: a.size }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
  b.write(Float32Array.from({ length: b.size }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5));
  const out = empty(gpu, [c.m, c.n]);
  const options = { transA: c.variant === 'TN', transB: c.variant === 'NT', out };
  matmul(a, b, options);
  await sync(gpu);
  const times: number[] = [];
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < c.repeats; i++) {
    const start = performance.now();
    matmul(a, b, options);
    await sync(gpu);
    times.push(performance.now() - start);
  }
  const cpu = process.cpuUsage(cpuStart);
  for (const t of [a, b, out]) t.dispose();
  const flop = 2 * c.m * c.k * c.n;
  return { gflops: flop / (median(times) / 1000) / 1e9, perCpu: (flop * c.repeats) / ((cpu.user + cpu.system) / 1e6) / 1e9 };
}

const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

async function* trainingLoop(steps: number): AsyncIterable<BenchRow> {
  const gpu = await getGpu();
  trimPool(gpu); // release the matmul cases' buffers first
  const [batch, dIn, dOut] = [16, 768, 3072];
  const w = upload(gpu, Float32Array.from({ length: dIn * dOut }, (_, i) => (((i * 7919) % 1000) / 1000 - 0.5) * 0.05), [dIn, dOut]);
  const state = adamState(w);
  const x = upload(gpu, Float32Array.from({ length: batch * dIn }, (_, i) => ((i * 31) % 17) / 17 - 0.5), [batch, dIn]);
  const target = upload(gpu, Float32Array.from({ length: batch * dOut }, (_, i) => ((i * 13) % 11) / 11 - 0.5), [batch, dOut]);
  const rssAt = new Map<number, number>();
  let gpuStart = 0;
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    scope(() => {
      const y = matmul(x, w); // forward [batch, d_out]
      const { grad } = mse(y, target, { grad: true }); // loss and dL/dy
      const dW = matmul(x, grad!, { transA: true }); // backward: xᵀ·dy [d_in, d_out]
      adamStep(w, dW, state, { lr: 1e-3 }); // update
    });
    await sync(gpu);
    if (step === 100 || step === 2000) rssAt.set(step, rssMiB());
    if (step === 100) gpuStart = liveTensorBytes(gpu);
  }
  const seconds = (performance.now() - started) / 1000;
  const rssEnd = rssMiB();
  const name = `matmul+adam loop W[${dIn}, ${dOut}] batch ${batch}, ${steps} steps`;
  const row = (metric: string, value: number, unit: string): BenchRow => ({ bench: 'engine', case: name, metric, value, unit, peer: null, peer_value: null, ratio: null });
  for (const [step, rss] of rssAt) yield row(`rss_at_step_${step}`, rss, 'MiB');
  yield row('rss_at_end', rssEnd, 'MiB');
  if (rssAt.has(2000)) yield row('rss_growth_after_step_2000', rssEnd - rssAt.get(2000)!, 'MiB');
  yield row('gpu_live_growth_after_step_100', (liveTensorBytes(gpu) - gpuStart) / 2 ** 20, 'MiB');
  yield row('steps_per_second', steps / seconds, 'steps/s');
  for (const t of [w, x, target, state.m, state.v]) t.dispose();
}

export const run: BenchRun = async function* (args) {
  const stepsAt = args.indexOf('--steps');
  const steps = stepsAt >= 0 ? Number(args[stepsAt + 1]) : 10_000;
  const cases = args.includes('--quick') ? CASES.filter((c) => c.n === 3072) : CASES;
  // Context for the figures: other work on the machine lowers both sides.
  yield { bench: 'engine', case: `machine: ${cpus().length} CPUs, ${(await getGpu()).profile.description}`, metric: 'load_average_1m_at_start', value: loadavg()[0], unit: 'tasks', peer: null, peer_value: null, ratio: null };
  const peer = runPeer(cases);
  if (peer.note) process.stderr.write(`engine bench: ${peer.note}\n`);
  const compared = (c: MatmulCase, metric: string, unit: string, value: number, peerValue: number | undefined): BenchRow => {
    const has = peer.name !== null && peerValue !== undefined && Number.isFinite(peerValue);
    return { bench: 'engine', case: label(c), metric, value, unit, peer: has ? peer.name : null, peer_value: has ? peerValue! : null, ratio: has ? value / peerValue! : null };
  };
  for (const c of cases) {
    const { gflops, perCpu } = await timeMatmul(c);
    yield compared(c, 'GFLOPS', 'GFLOPS', gflops, peer.gflops.get(label(c)));
    // Work per CPU-second: less sensitive to other load on a shared machine than wall time.
    yield compared(c, 'GFLOP_per_cpu_second', 'GFLOP/cpu-s', perCpu, peer.perCpu.get(label(c)));
  }
  yield* trainingLoop(steps);
};
