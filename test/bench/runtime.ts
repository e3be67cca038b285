/**
 * `npm run bench -- runtime [--json] [options]`: forward tokens/s, load time, peak RSS and a
 * logits parity check of HookedTransformer against a PyTorch model of the same architecture
 * (test/bench/_runtime_peer.py, Debian's python3-torch on OpenBLAS, fp32) on the same machine in
 * the same run, for one model per family, random weights written as Hugging Face checkpoints by
 * _hf_checkpoint.ts:
 *
 *   gpt2    GPT-2 small (124M)   fp32, one model.safetensors (as on the hub)
 *   neox    Pythia-160m          bf16, sharded (model-0000i-of-0000N.safetensors + index.json)
 *   gemma2  Gemma-2-2B           bf16, sharded
 *   qwen3   Qwen3-0.6B           bf16, sharded
 *
 * The parity row (max |logit difference| of the first sequence) catches a benchmark that times a
 * wrong model: the peer is written from the Hugging Face modeling files, not from interp.
 *
 * Each side runs in its own child process (so peak RSS is that of one load + forwards, not of this
 * parent): interp twice, once with an empty weight cache (first load builds it) and once with the
 * cache in place; the peer once. Both use the same thread count (ORT intraOpNumThreads,
 * torch.set_num_threads + OPENBLAS_NUM_THREADS; the peer waits passively, OMP_WAIT_POLICY=PASSIVE,
 * see peerEnv), warm up, then report the median of the timed runs. Where both fit in memory the
 * warm interp process and the peer are loaded together and take turns forward by forward
 * (alternating who goes first), so a busy phase of a shared machine slows both sides alike; a
 * model whose two fp32 copies would not fit comfortably (--order auto: 2 × 1.3 × fp32 weights
 * above half of RAM; Gemma-2-2B is 10.5 GB in fp32) runs the sides one after the other instead,
 * and its rows say "sequential". Before every timed forward both sides idle for --gap ms, so
 * neither is billed for the other's worker threads spinning down (OpenBLAS's keep a core busy for
 * ~0.1 s after a call returns; onnxruntime's for ~30 ms).
 *
 * Peak RSS of the cold process (the load that builds the cache, then one forward per shape) is
 * compared with 1.3 × the model's fp32 weights (ratio ≥ 1: within that budget) twice: after the
 * first shape's forward (load + session + the smallest activations: the loading rule) and after
 * every shape's (the activations of the largest batch on top, e.g. Gemma's 256k-vocabulary logits).
 *
 * Exclusive: the whole run holds `flock /tmp/interp-bench.lock` (other benchmarks take the same
 * lock), so two benchmarks never time each other. Pass --no-lock when already running under it.
 *
 * Options: --families gpt2,neox,gemma2,qwen3 (all), --layers N (each model's own; fewer for a
 * quick check), --threads N (2), --runs N (5), --warmup N (2), --shapes 1x128,8x128,
 * --order auto|alternate|sequential, --gap MS (250), --device cpu|webgpu|cuda (interp's side; cpu),
 * --checkpoints DIR (keep the written
 * checkpoints there and reuse them on later runs; default: a temp dir, deleted), --no-lock.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gemma2Plan, gpt2Plan, neoxPlan, planParams, qwen3Plan, writeCheckpoint } from './_hf_checkpoint.js';
import type { CheckpointDtype, CheckpointPlan } from './_hf_checkpoint.js';
import type { BenchRow, BenchRun } from './types.js';
import { acquireBenchLock } from './_lock.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(HERE, '../..');
const PEER_SCRIPT = path.join(HERE, '_runtime_peer.py');
const PEER_PYTHON = '/usr/bin/python3'; // Debian's python3-torch lives here, not in a pyenv/venv python
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
const BENCH = 'runtime';
const MB = 1e6;
/** The memory budget rows compare peak RSS with: this many times the fp32 weights. */
const RSS_BUDGET = 1.3;

/** One model per family, at its published shape. */
interface FamilyCase {
  /** Name in rows (with -NL appended when --layers changes it). */
  readonly model: string;
  readonly layers: number;
  readonly plan: (layers: number) => CheckpointPlan;
  readonly dtype: CheckpointDtype;
  /** save_pretrained's max_shard_size for this checkpoint; null: one model.safetensors. */
  readonly maxShardBytes: number | null;
}

type FamilyKey = 'gpt2' | 'neox' | 'gemma2' | 'qwen3';

// Shard sizes give each bf16 checkpoint two or three shards at full depth, as on the hub
// (google/gemma-2-2b ships three); the hub's own 5 GB default would leave the smaller ones whole.
const FAMILIES: Readonly<Record<FamilyKey, FamilyCase>> = {
  gpt2: { model: 'gpt2-small', layers: 12, plan: (n) => gpt2Plan({ nLayer: n }), dtype: 'F32', maxShardBytes: null },
  neox: { model: 'pythia-160m', layers: 12, plan: (n) => neoxPlan({ numHiddenLayers: n }), dtype: 'BF16', maxShardBytes: 200e6 },
  gemma2: { model: 'gemma-2-2b', layers: 26, plan: (n) => gemma2Plan({ numHiddenLayers: n }), dtype: 'BF16', maxShardBytes: 2e9 },
  qwen3: { model: 'qwen3-0.6b', layers: 28, plan: (n) => qwen3Plan({ numHiddenLayers: n }), dtype: 'BF16', maxShardBytes: 500e6 },
};
const FAMILY_KEYS = Object.keys(FAMILIES) as FamilyKey[];

type Order = 'auto' | 'alternate' | 'sequential';

interface Options {
  families: FamilyKey[];
  layers: number | null;
  threads: number;
  runs: number;
  warmup: number;
  shapes: [number, number][];
  order: Order;
  gapMs: number;
  checkpoints: string | null;
  lock: boolean;
  /** interp's --device (the peer stays PyTorch on the CPU, or on CUDA with INTERP_BENCH_TORCH_DEVICE where _runtime_peer.py supports it). */
  device: string;
}

function parseArgs(args: readonly string[]): Options {
  const opt: Options = {
    families: [...FAMILY_KEYS], layers: null, threads: 2, runs: 5, warmup: 2, shapes: [[1, 128], [8, 128]],
    order: 'auto', gapMs: 250, checkpoints: null, lock: true, device: 'cpu',
  };
  const usage = '--families gpt2,neox,gemma2,qwen3 --layers N --threads N --runs N --warmup N --shapes 1x128,8x128 --order auto|alternate|sequential --gap MS --checkpoints DIR --no-lock --device cpu|webgpu|cuda';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`runtime bench: ${a} needs a value`);
      return v;
    };
    if (a === '--families') {
      const names = val().split(',').filter(Boolean);
      const bad = names.filter((n) => !FAMILY_KEYS.includes(n as FamilyKey));
      if (bad.length) throw new Error(`runtime bench: unknown famil${bad.length > 1 ? 'ies' : 'y'} ${bad.join(', ')} (have ${FAMILY_KEYS.join(', ')})`);
      opt.families = names as FamilyKey[];
    } else if (a === '--layers') opt.layers = Number(val());
    else if (a === '--threads') opt.threads = Number(val());
    else if (a === '--runs') opt.runs = Number(val());
    else if (a === '--warmup') opt.warmup = Number(val());
    else if (a === '--shapes') opt.shapes = val().split(',').map((s) => s.split('x').map(Number) as [number, number]);
    else if (a === '--order') {
      const o = val();
      if (o !== 'auto' && o !== 'alternate' && o !== 'sequential') throw new Error(`runtime bench: --order must be auto, alternate or sequential, got ${o}`);
      opt.order = o;
    } else if (a === '--gap') opt.gapMs = Number(val());
    else if (a === '--checkpoints') opt.checkpoints = path.resolve(val());
    else if (a === '--no-lock') opt.lock = false;
    else if (a === '--device') opt.device = val();
    else throw new Error(`runtime bench: unknown option ${a} (options: ${usage})`);
  }
  if (opt.layers !== null && !(Number.isInteger(opt.layers) && opt.layers > 0)) throw new Error(`runtime bench: --layers must be a positive integer, got ${opt.layers}`);
  if (!(opt.gapMs >= 0)) throw new Error(`runtime bench: --gap must be ≥ 0 ms, got ${opt.gapMs}`);
  if (opt.runs < 5) console.error(`runtime bench: note: --runs ${opt.runs} < 5; medians of fewer than 5 runs are noisy`);
  return opt;
}

const shapeName = ([b, p]: [number, number]): string => `${b}x${p}`;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Both sides are line servers: after loading they print {"ready": true, "load_s", ...}; then each
// stdin line {"shape": [b, p], "logits_out"?} runs one forward and prints {"t": seconds}, and
// {"exit": true} prints {"peak_rss_mb", ...} and ends the process. The parent alternates the
// two sides' forwards, so slow phases of a shared machine hit both alike.

interface WorkerArgs {
  model: string;
  tokens: string;
  threads: number;
}

/** The interp side: `node --import tsx runtime.ts --worker JSON`. */
async function worker(task: WorkerArgs): Promise<void> {
  const { HookedTransformer } = await import('../../src/runtime/model.js');
  const { createInterface } = await import('node:readline');
  const tokens = JSON.parse(fs.readFileSync(task.tokens, 'utf8')) as number[][];
  const reply = (obj: unknown): void => void process.stdout.write(`${JSON.stringify(obj)}\n`);
  const t0 = performance.now();
  const model = await HookedTransformer.load(task.model, { threads: task.threads });
  reply({ ready: true, load_s: (performance.now() - t0) / 1000 });
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { exit?: boolean; shape?: [number, number]; logits_out?: string };
    if (cmd.exit) break;
    const [b, p] = cmd.shape as [number, number];
    const seqs = tokens.slice(0, b).map((s) => s.slice(0, p));
    const t = performance.now();
    const out = await model.run(seqs, { logits: true });
    const dt = (performance.now() - t) / 1000;
    if (cmd.logits_out && out.logits) {
      const l = out.logits.data.subarray(0, p * model.config.vocabSize);
      fs.writeFileSync(cmd.logits_out, new Uint8Array(l.buffer, l.byteOffset, l.byteLength));
    }
    reply({ t: dt, max_rss_mb: process.resourceUsage().maxRSS / 1024 });
  }
  await model.dispose();
  reply({ peak_rss_mb: process.resourceUsage().maxRSS / 1024 });
}

// ---------------------------------------------------------------------------------------------
// Parent.

/** A child process speaking the line protocol above; stderr passes through. */
class Server {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];
  private exited: string | null = null;

  constructor(readonly name: string, cmd: string, argv: readonly string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(cmd, argv, { cwd: REPO, env, stdio: ['pipe', 'pipe', 'inherit'] }) as unknown as ChildProcessWithoutNullStreams;
    this.child.stdout.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line.startsWith('{')) continue; // stray output
        const w = this.waiting.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    const fail = (why: string): void => {
      this.exited = why;
      for (const w of this.waiting.splice(0)) w('');
    };
    this.child.on('error', (e) => fail(e.message));
    this.child.on('exit', (code, sig) => fail(`exited ${code ?? sig}`));
  }

  /** The next JSON line (optionally after sending `cmd`). */
  async next<T>(cmd?: unknown): Promise<T> {
    if (cmd !== undefined) this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    const queued = this.lines.shift();
    const line = queued ?? (this.exited !== null ? '' : await new Promise<string>((resolve) => this.waiting.push(resolve)));
    if (!line) throw new Error(`${this.name}: ${this.exited ?? 'no reply'}`);
    return JSON.parse(line) as T;
  }

  kill(): void {
    if (this.exited === null) this.child.kill();
  }
}

interface Ready { ready: true; load_s: number; torch?: string; threads?: number }
interface Done { peak_rss_mb: number; blas?: string; blas_libs?: string[] }

function startInterp(modelDir: string, tokens: string, cacheDir: string, threads: number, device: string): Server {
  const env = { ...process.env, INTERP_CACHE_DIR: cacheDir, OMP_NUM_THREADS: String(threads), INTERP_DEVICE: device };
  const task: WorkerArgs = { model: modelDir, tokens, threads };
  return new Server('interp worker', process.execPath, [...process.execArgv, SELF, '--worker', JSON.stringify(task)], env);
}

function startPeer(modelDir: string, tokens: string, threads: number, env: NodeJS.ProcessEnv): Server {
  return new Server('PyTorch peer', PEER_PYTHON, [PEER_SCRIPT, '--model', modelDir, '--tokens', tokens, '--threads', String(threads)], env);
}

/** Whether Debian's torch imports; its version, or the reason it cannot be used. */
function probePeer(env: NodeJS.ProcessEnv): { ok: true; version: string } | { ok: false; why: string } {
  if (!fs.existsSync(PEER_PYTHON)) return { ok: false, why: `${PEER_PYTHON} is absent` };
  const r = spawnSync(PEER_PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { env, encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, why: `python3-torch is not importable (${(r.stderr || '').trim().split('\n').pop()}); apt-get install python3-torch libopenblas0-pthread` };
  return { ok: true, version: r.stdout.trim() };
}

/**
 * The peer's environment: libblas.so.3 must resolve to OpenBLAS. Debian's alternative normally
 * points there once libopenblas0-pthread is installed; if it still points at the reference BLAS,
 * the OpenBLAS directory goes first on LD_LIBRARY_PATH.
 */
function peerEnv(threads: number): NodeJS.ProcessEnv {
  // OMP_WAIT_POLICY=PASSIVE: Debian's torch runs elementwise ops on GNU OpenMP and GEMMs on
  // OpenBLAS's own pthreads; with OpenMP's default spin-waiting the idle OpenMP workers compete
  // with OpenBLAS's threads for the same cores, which made the peer 2.5× slower at 1×128 on a
  // 2-core machine. Passive waiting is the peer's best configuration, so the comparison uses it.
  const env: NodeJS.ProcessEnv = {
    OMP_WAIT_POLICY: 'PASSIVE',
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  let target = '';
  try {
    target = fs.realpathSync('/usr/lib/x86_64-linux-gnu/libblas.so.3');
  } catch {
    /* no alternative installed */
  }
  if (!target.includes('openblas') && fs.existsSync(path.join(OPENBLAS_DIR, 'libblas.so.3'))) {
    env.LD_LIBRARY_PATH = [OPENBLAS_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  return env;
}

/** Deterministic token ids in [0, vocab). */
function randomTokens(b: number, p: number, vocab: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  return Array.from({ length: b }, () => Array.from({ length: p }, () => Math.floor((next() / 4294967296) * vocab)));
}

function row(caseName: string, metric: string, value: number, unit: string, peer: string | null, peerValue: number | null, higherIsBetter: boolean): BenchRow {
  const ratio = peer !== null && peerValue !== null && Number.isFinite(peerValue) && value > 0 && peerValue > 0
    ? (higherIsBetter ? value / peerValue : peerValue / value)
    : null;
  return { bench: BENCH, case: caseName, metric, value, unit, peer: peerValue === null ? null : peer, peer_value: peerValue, ratio };
}

/**
 * The checkpoint of a case: written into `root` (a temp dir, or --checkpoints, where a complete
 * earlier one with the same plan is reused).
 */
function checkpoint(root: string, name: string, fc: FamilyCase, plan: CheckpointPlan): { dir: string; params: number } {
  const dir = path.join(root, name);
  const stamp = JSON.stringify({ plan, dtype: fc.dtype, maxShardBytes: fc.maxShardBytes, seed: 1234, normStd: 0.1 });
  const marker = path.join(dir, '.bench-complete');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === stamp) {
    console.error(`runtime bench: reusing ${dir}`);
    return { dir, params: planParams(plan) };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const t = performance.now();
  // N(0, 0.02) weights; norm weights at their neutral value ± N(0, 0.1) (GPT-2's stay exactly 1, as before), seeded.
  const written = writeCheckpoint(dir, plan, {
    seed: 1234, dtype: fc.dtype, normStd: fc.dtype === 'F32' ? 0 : 0.1,
    ...(fc.maxShardBytes !== null ? { maxShardBytes: fc.maxShardBytes } : {}),
  });
  fs.writeFileSync(marker, stamp);
  console.error(`runtime bench: wrote ${name} (${(written.params / 1e6).toFixed(1)}M params, ${fc.dtype}, ${written.files.length} file${written.files.length > 1 ? 's' : ''}, ${(written.bytes / 1e9).toFixed(2)} GB) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { dir, params: written.params };
}

/** Forward times by side and shape, plus each side's first forward. */
interface Timings {
  interp: Record<string, number[]>;
  peer: Record<string, number[]>;
  interpFirst: number;
  peerFirst: number;
}

/**
 * Runs warmup + runs forwards per shape on each side: alternated forward by forward (both loaded),
 * or all of interp's then all of the peer's. The first forward of the first shape writes seq 0's
 * logits for the parity check. Each timed forward follows `gapMs` of idle.
 */
async function timeForwards(
  sides: { interp: Server; peer: Server | null },
  opt: Options,
  logitsOut: { interp: string; peer: string },
  only: 'interp' | 'peer' | 'both',
): Promise<Timings> {
  const t: Timings = { interp: {}, peer: {}, interpFirst: NaN, peerFirst: NaN };
  for (const shape of opt.shapes) {
    const k = shapeName(shape);
    t.interp[k] ??= [];
    t.peer[k] ??= [];
    for (let i = 0; i < opt.warmup + opt.runs; i++) {
      const logits = i === 0 && shape === opt.shapes[0];
      const order = i % 2 === 0 ? (['interp', 'peer'] as const) : (['peer', 'interp'] as const); // alternate who goes first
      for (const side of order) {
        if (only !== 'both' && side !== only) continue;
        const server = side === 'interp' ? sides.interp : sides.peer;
        if (!server) continue;
        if (opt.gapMs > 0) await sleep(opt.gapMs);
        const { t: dt } = await server.next<{ t: number }>({ shape, ...(logits ? { logits_out: logitsOut[side] } : {}) });
        if (i >= opt.warmup) t[side][k].push(dt);
        if (side === 'interp' && Number.isNaN(t.interpFirst)) t.interpFirst = dt;
        if (side === 'peer' && Number.isNaN(t.peerFirst)) t.peerFirst = dt;
      }
    }
  }
  return t;
}

/** Max |interp − peer| over seq 0's logits, and the largest |logit|. */
function logitsDiff(a: string, b: string): { diff: number; scale: number; n: number } | null {
  if (!fs.existsSync(a) || !fs.existsSync(b)) return null;
  const x = new Float32Array(fs.readFileSync(a).buffer.slice(0));
  const y = new Float32Array(fs.readFileSync(b).buffer.slice(0));
  let diff = x.length === y.length ? 0 : Infinity;
  let scale = 0;
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return { diff, scale, n: x.length };
}

/** Every row of one family's case. */
async function* runFamily(key: FamilyKey, opt: Options, work: string, ckptRoot: string): AsyncGenerator<BenchRow> {
  const fc = FAMILIES[key];
  const layers = opt.layers ?? fc.layers;
  const model = layers === fc.layers ? fc.model : `${fc.model}-${layers}L`;
  const plan = fc.plan(layers);
  const { dir: modelDir, params } = checkpoint(ckptRoot, model, fc, plan);
  const fp32Mb = (params * 4) / MB;
  const threads = `${opt.threads} threads${opt.device === 'cpu' ? '' : `, interp on ${opt.device}`}`;
  const caseDir = path.join(work, model);
  fs.mkdirSync(caseDir, { recursive: true });
  const maxB = Math.max(...opt.shapes.map(([b]) => b));
  const maxP = Math.max(...opt.shapes.map(([, p]) => p));
  const tokensFile = path.join(caseDir, 'tokens.json');
  fs.writeFileSync(tokensFile, JSON.stringify(randomTokens(maxB, maxP, plan.config.vocab_size as number, 42)));
  const sequential = opt.order === 'sequential' || (opt.order === 'auto' && 2 * RSS_BUDGET * fp32Mb * MB > os.totalmem() / 2);
  const how = sequential ? 'sequential: interp, then the peer, never both loaded' : 'alternated forward by forward';
  console.error(`runtime bench: ${model}: ${(fp32Mb / 1e3).toFixed(2)} GB of fp32 weights; sides ${how}`);

  // interp, cold: an empty weight cache, so load() builds it; one forward per shape (peak RSS).
  const cacheDir = path.join(caseDir, 'cache');
  const coldServer = startInterp(modelDir, tokensFile, cacheDir, opt.threads, opt.device);
  let cold: { load_s: number; peak_rss_mb: number; first_shape_rss_mb: number };
  try {
    const ready = await coldServer.next<Ready>();
    let firstShapeRss = NaN;
    for (const shape of opt.shapes) {
      const r = await coldServer.next<{ max_rss_mb: number }>({ shape });
      if (Number.isNaN(firstShapeRss)) firstShapeRss = r.max_rss_mb;
    }
    cold = { load_s: ready.load_s, peak_rss_mb: (await coldServer.next<Done>({ exit: true })).peak_rss_mb, first_shape_rss_mb: firstShapeRss };
  } finally {
    coldServer.kill();
  }

  const env = peerEnv(opt.threads);
  const probe = probePeer(env);
  if (!probe.ok) console.error(`runtime bench: no PyTorch peer: ${probe.why}`);
  const logitsOut = { interp: path.join(caseDir, 'interp-logits.bin'), peer: path.join(caseDir, 'peer-logits.bin') };

  /** Starts the peer; null (and a message) when it cannot run. */
  const openPeer = async (): Promise<{ server: Server; ready: Ready } | null> => {
    if (!probe.ok) return null;
    const server = startPeer(modelDir, tokensFile, opt.threads, env);
    try {
      return { server, ready: await server.next<Ready>() };
    } catch (error) {
      console.error(`runtime bench: the PyTorch peer failed to load ${model}: ${(error as Error).message}`);
      server.kill();
      return null;
    }
  };

  // interp with the cache in place, and the peer: together, or one after the other.
  let interpReady: Ready;
  let interpDone: Done;
  let peer: { server: Server; ready: Ready } | null = null;
  let peerDone: Done | null = null;
  let times: Timings;
  const interp = startInterp(modelDir, tokensFile, cacheDir, opt.threads, opt.device);
  try {
    interpReady = await interp.next<Ready>();
    if (sequential) {
      times = await timeForwards({ interp, peer: null }, opt, logitsOut, 'interp');
      interpDone = await interp.next<Done>({ exit: true });
      interp.kill();
      peer = await openPeer();
      if (peer) {
        const p = await timeForwards({ interp, peer: peer.server }, opt, logitsOut, 'peer');
        times = { ...times, peer: p.peer, peerFirst: p.peerFirst };
        peerDone = await peer.server.next<Done>({ exit: true });
      }
    } else {
      peer = await openPeer();
      times = await timeForwards({ interp, peer: peer?.server ?? null }, opt, logitsOut, 'both');
      interpDone = await interp.next<Done>({ exit: true });
      peerDone = peer ? await peer.server.next<Done>({ exit: true }) : null;
    }
  } finally {
    interp.kill();
    peer?.server.kill();
  }

  const peerName = peer && peerDone
    ? `torch ${(peer.ready.torch ?? '?').split('.').slice(0, 2).join('.')} + ${peerDone.blas}${peerDone.blas === 'OpenBLAS' ? '' : ' (not a fair peer)'}`
    : null;
  if (peerDone) console.error(`runtime bench: peer BLAS libraries: ${(peerDone.blas_libs ?? []).join(', ') || '(none mapped)'}${env.LD_LIBRARY_PATH ? ` (LD_LIBRARY_PATH=${env.LD_LIBRARY_PATH})` : ''}`);
  const tps = (side: 'interp' | 'peer', [b, p]: [number, number]): number | null => {
    const ts = times[side][shapeName([b, p])];
    return ts.length ? (b * p) / median(ts) : null;
  };
  const order = sequential ? ', sequential' : '';
  for (const shape of opt.shapes) {
    yield row(`${model} forward ${shapeName(shape)}, ${threads}${order}`, 'tokens/s', tps('interp', shape) ?? NaN, 'tok/s', peerName, peerName ? tps('peer', shape) : null, true);
  }
  const peerLoad = peerName && peer ? peer.ready.load_s : null;
  yield row(`${model} first load (builds fp32 weight cache from ${fc.dtype})`, 'load_time', cold.load_s, 's', peerName, peerLoad, false);
  yield row(`${model} second load (weight cache present)`, 'load_time', interpReady.load_s, 's', peerName, peerLoad, false);
  const first = shapeName(opt.shapes[0]);
  yield row(`${model} first forward ${first} (interp: graph build + ORT session)`, 'time', times.interpFirst, 's', peerName, peerName ? times.peerFirst : null, false);
  yield row(`${model} second load + first forward ${first}`, 'time_to_logits', interpReady.load_s + times.interpFirst, 's', peerName, peerLoad !== null ? peerLoad + times.peerFirst : null, false);
  const all = opt.shapes.map(shapeName).join('+');
  const budget = `${RSS_BUDGET}× fp32 weights (${(fp32Mb / 1e3).toFixed(2)} GB)`;
  yield row(`${model} peak RSS, first load + 1 forward ${first}, vs ${budget}`, 'peak_rss', cold.first_shape_rss_mb, 'MB', `${RSS_BUDGET}× fp32 weights`, RSS_BUDGET * fp32Mb, false);
  yield row(`${model} peak RSS, first load + 1 forward each ${all}, vs ${budget}`, 'peak_rss', cold.peak_rss_mb, 'MB', `${RSS_BUDGET}× fp32 weights`, RSS_BUDGET * fp32Mb, false);
  yield row(`${model} peak RSS, second load + ${opt.warmup + opt.runs} forwards ${all}`, 'peak_rss', interpDone.peak_rss_mb, 'MB', peerName, peerDone?.peak_rss_mb ?? null, false);

  // Parity: logits of the first sequence, interp vs the peer.
  const parity = peerName ? logitsDiff(logitsOut.interp, logitsOut.peer) : null;
  if (parity) {
    yield { bench: BENCH, case: `${model} logits of seq 0 (${parity.n} values, max |logit| ${parity.scale.toPrecision(3)})`, metric: 'max_abs_logit_diff', value: parity.diff, unit: '', peer: peerName, peer_value: null, ratio: null };
  } else {
    yield { bench: BENCH, case: `${model} logits of seq 0 (no peer to compare with)`, metric: 'max_abs_logit_diff', value: NaN, unit: '', peer: null, peer_value: null, ratio: null };
  }
  console.error(`runtime bench: ${model} forward times (s), interp: ${JSON.stringify(times.interp)}; peer: ${JSON.stringify(times.peer)}`);
  fs.rmSync(caseDir, { recursive: true, force: true }); // the weight cache (10.5 GB for Gemma-2-2B)
}

export const run: BenchRun = async function* (args) {
  const opt = parseArgs(args);
  const release = opt.lock ? await acquireBenchLock('runtime') : () => {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-bench-runtime-'));
  try {
    const busy = os.loadavg()[0];
    if (busy > 0.5) console.error(`runtime bench: note: load average ${busy.toFixed(2)} before starting; other processes may slow both sides`);
    const ckptRoot = opt.checkpoints ?? path.join(work, 'checkpoints');
    for (const key of opt.families) yield* runFamily(key, opt, work, ckptRoot);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    release();
  }
};

// `node --import tsx test/bench/runtime.ts --worker JSON`: the interp side (see worker()).
if (process.argv[1] && path.resolve(process.argv[1]) === SELF && process.argv[2] === '--worker') {
  await worker(JSON.parse(process.argv[3]) as WorkerArgs);
}
