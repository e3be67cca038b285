/**
 * `npm run bench -- probes`: a 20,000 × 768 binary logistic probe (C = 1, tol = 1e-4, the
 * sklearn defaults) on the GPU engine against scikit-learn's lbfgs on the same data in the same
 * run. Data: seeded Gaussian activations with a planted direction (class means ±s·u, s chosen so
 * the Bayes accuracy is about 90%) plus an anisotropic scale per dimension, as real residual
 * streams have; 5,000 held-out rows measure accuracy. Timed: interp from the upload of X to the
 * fitted weights (median of --runs); sklearn's `fit` (including its float64 conversion).
 *
 * Exclusive: holds `flock /tmp/interp-bench.lock` like the other benchmarks (--no-lock when already
 * under it). Options: --n N (20000), --d D (768), --runs R (3), --no-lock.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getGpu, upload } from '../../src/engine/index.js';
import { accuracy, fitLogistic, oneVsRestTargets, scoreOnGpu } from '../../probes/index.js';
import { gaussian, rng } from '../../probes/split.js';
import type { BenchRow, BenchRun } from './types.js';
import { acquireBenchLock } from './_lock.js';

const BENCH = 'probes';
const PEER = fileURLToPath(new URL('./_probes_peer.py', import.meta.url));
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

interface Options { n: number; d: number; runs: number; lock: boolean }

function parseArgs(args: readonly string[]): Options {
  const opt: Options = { n: 20_000, d: 768, runs: 3, lock: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--n') opt.n = Number(args[++i]);
    else if (a === '--d') opt.d = Number(args[++i]);
    else if (a === '--runs') opt.runs = Number(args[++i]);
    else if (a === '--no-lock') opt.lock = false;
    else throw new Error(`probes bench: unknown option ${a} (options: --n N --d D --runs R --no-lock)`);
  }
  return opt;
}


/** Rows x = s·y·u + D·ε with y = ±1, u a random unit vector, D a per-dimension scale in [0.5, 2]. */
function synthetic(n: number, d: number, seed: number): { x: Float32Array; y: Int32Array } {
  const next = rng(seed);
  const normal = gaussian(rng(seed + 1));
  const planted = gaussian(rng(99)); // one direction for the training and the held-out rows
  const dir = Float64Array.from({ length: d }, () => planted());
  const norm = Math.hypot(...dir);
  const scale = Float64Array.from({ length: d }, (_, j) => 0.5 + 1.5 * ((j * 0.6180339887) % 1));
  const s = 1.3; // projection noise ≈ N(0, ~1.3²) after scaling: Bayes accuracy ≈ 0.9
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = next() < 0.5 ? 1 : 0;
    const sign = y[i] ? 1 : -1;
    for (let j = 0; j < d; j++) x[i * d + j] = sign * s * (dir[j] / norm) + scale[j] * normal();
  }
  return { x, y };
}

function row(caseName: string, metric: string, value: number, unit: string, peer: string | null, peerValue: number | null, higherIsBetter: boolean): BenchRow {
  const ratio = peer !== null && peerValue !== null && value > 0 && peerValue > 0 ? (higherIsBetter ? value / peerValue : peerValue / value) : null;
  return { bench: BENCH, case: caseName, metric, value, unit, peer, peer_value: peerValue, ratio };
}

export const run: BenchRun = async function* (args) {
  const opt = parseArgs(args);
  const release = opt.lock ? await acquireBenchLock('probes') : () => {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-bench-probes-'));
  try {
    const busy = os.loadavg()[0];
    if (busy > 0.5) console.error(`probes bench: note: load average ${busy.toFixed(2)} before starting; other processes may slow both sides`);
    const train = synthetic(opt.n, opt.d, 1);
    const test = synthetic(5000, opt.d, 2);
    for (const [name, data] of [['train.f32', train.x], ['test.f32', test.x], ['y_train.i32', train.y], ['y_test.i32', test.y]] as const) fs.writeFileSync(path.join(work, name), data);
    fs.writeFileSync(path.join(work, 'meta.json'), JSON.stringify({ n_train: opt.n, n_test: 5000, d: opt.d, c: 1, tol: 1e-4, max_iter: 1000 }));

    const gpu = await getGpu();
    const times: number[] = [];
    let fit: Awaited<ReturnType<typeof fitLogistic>> | undefined;
    for (let r = 0; r < opt.runs + 1; r++) { // the first run warms pipelines and the buffer pool
      const t0 = performance.now();
      const x = upload(gpu, train.x, [opt.n, opt.d]);
      fit = await fitLogistic(gpu, x, oneVsRestTargets(train.y, 1), 1, { c: 1, tol: 1e-4, maxIter: 1000 });
      if (r > 0) times.push((performance.now() - t0) / 1000);
      x.dispose();
    }
    if (!fit) throw new Error('no fit');
    times.sort((a, b) => a - b);
    const seconds = times[Math.floor(times.length / 2)];
    const xt = upload(gpu, test.x, [5000, opt.d]);
    const acc = accuracy(await scoreOnGpu(gpu, xt, fit), 1, test.y);
    xt.dispose();
    console.error(`probes bench: interp ${fit.iterations} L-BFGS iterations (${fit.evaluations} evaluations, ${fit.stop}, ${fit.evaluator} path) on ${gpu.profile.description}`);

    const peerRun = spawnSync(PYTHON, [PEER, work, String(opt.runs)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const peer = peerRun.status === 0 ? (JSON.parse(peerRun.stdout) as { peer: string; seconds: number; test_acc: number; n_iter: number; weight: number[] }) : null;
    if (!peer) console.error(`probes bench: peer MISSING (${PYTHON} ${PEER} failed: ${peerRun.stderr.trim().split('\n').at(-1) ?? ''}); install python3-sklearn`);
    else console.error(`probes bench: ${peer.peer}: ${peer.n_iter} iterations`);
    const name = peer?.peer ?? null;
    const label = `logistic ${opt.n}x${opt.d} C=1`;
    yield row(label, 'fit_time', seconds, 's', name, peer?.seconds ?? null, false);
    yield row(label, 'test_accuracy', acc, 'fraction', name, peer?.test_acc ?? null, true);
    if (peer) {
      let dot = 0, a = 0, b = 0;
      peer.weight.forEach((w, j) => { dot += w * fit.weight[j]; a += fit.weight[j] ** 2; b += w * w; });
      yield row(label, 'weight_cosine', dot / Math.sqrt(a * b), 'cosine', name, 1, true);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    release();
  }
};
