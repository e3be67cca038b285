/**
 * `npm run bench -- runtime [--json] [options]`: forward tokens/s of HookedTransformer on a
 * GPT-2-small shaped model (random weights, written as a Hugging Face checkpoint) against a
 * minimal PyTorch GPT-2 (test/bench/_runtime_peer.py, Debian's python3-torch on OpenBLAS) on
 * the same machine in the same run, plus load time, time to first logits, peak RSS and a logits
 * parity check (which catches a benchmark that times a wrong model).
 *
 * Each side runs in its own child process (so peak RSS is that of one load + forward, not of this
 * parent): interp twice, once with an empty weight cache (first load builds it) and once with
 * the cache in place; the peer once. Both use the same thread count (ORT intraOpNumThreads,
 * torch.set_num_threads + OPENBLAS_NUM_THREADS; the peer waits passively, OMP_WAIT_POLICY=PASSIVE,
 * see peerEnv), warm up, then report the median of the timed runs. The warm interp process and
 * the peer are both loaded and take turns forward by forward (alternating who goes first), so a
 * busy phase of a shared machine slows both sides alike instead of skewing the ratio.
 *
 * Exclusive: the whole run holds `flock /tmp/interp-bench.lock` (other benchmarks take the same
 * lock), so two benchmarks never time each other. Pass --no-lock when already running under it.
 *
 * Options: --threads N (2), --runs N (5), --warmup N (2), --shapes 1x128,8x128,
 * --layers N (12; fewer for a quick check), --no-lock.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpt2Plan, writeCheckpoint } from './_hf_checkpoint.js';
import type { BenchRow, BenchRun } from './types.js';
import { acquireBenchLock } from './_lock.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(HERE, '../..');
const PEER_SCRIPT = path.join(HERE, '_runtime_peer.py');
const PEER_PYTHON = '/usr/bin/python3'; // Debian's python3-torch lives here, not in a pyenv/venv python
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
const BENCH = 'runtime';
const MODEL = 'gpt2-small';

interface Options {
  threads: number;
  runs: number;
  warmup: number;
  shapes: [number, number][];
  layers: number;
  lock: boolean;
}

function parseArgs(args: readonly string[]): Options {
  const opt: Options = { threads: 2, runs: 5, warmup: 2, shapes: [[1, 128], [8, 128]], layers: 12, lock: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`runtime bench: ${a} needs a value`);
      return v;
    };
    if (a === '--threads') opt.threads = Number(val());
    else if (a === '--runs') opt.runs = Number(val());
    else if (a === '--warmup') opt.warmup = Number(val());
    else if (a === '--layers') opt.layers = Number(val());
    else if (a === '--shapes') opt.shapes = val().split(',').map((s) => s.split('x').map(Number) as [number, number]);
    else if (a === '--no-lock') opt.lock = false;
    else throw new Error(`runtime bench: unknown option ${a} (options: --threads N --runs N --warmup N --shapes 1x128,8x128 --layers N --no-lock)`);
  }
  if (opt.runs < 5) console.error(`runtime bench: note: --runs ${opt.runs} < 5; medians of fewer than 5 runs are noisy`);
  return opt;
}

const shapeName = ([b, p]: [number, number]): string => `${b}x${p}`;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

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
    reply({ t: dt });
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

function startInterp(modelDir: string, tokens: string, cacheDir: string, threads: number): Server {
  const env = { ...process.env, INTERP_CACHE_DIR: cacheDir, OMP_NUM_THREADS: String(threads) };
  const task: WorkerArgs = { model: modelDir, tokens, threads };
  return new Server('interp worker', process.execPath, [...process.execArgv, SELF, '--worker', JSON.stringify(task)], env);
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

export const run: BenchRun = async function* (args) {
  const opt = parseArgs(args);
  const release = opt.lock ? await acquireBenchLock('runtime') : () => {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-bench-runtime-'));
  try {
    const busy = os.loadavg()[0];
    if (busy > 0.5) console.error(`runtime bench: note: load average ${busy.toFixed(2)} before starting; other processes may slow both sides`);

    // The checkpoint: GPT-2 small shape, N(0, 0.02) weights, LN weights 1, seeded.
    const plan = gpt2Plan({ nLayer: opt.layers });
    const modelDir = path.join(work, 'model');
    const tw = performance.now();
    const { params } = writeCheckpoint(modelDir, plan, { seed: 1234 });
    console.error(`runtime bench: wrote ${MODEL} (${opt.layers} layers, ${(params / 1e6).toFixed(1)}M params) in ${((performance.now() - tw) / 1000).toFixed(1)} s`);
    const maxB = Math.max(...opt.shapes.map(([b]) => b));
    const maxP = Math.max(...opt.shapes.map(([, p]) => p));
    const tokensFile = path.join(work, 'tokens.json');
    fs.writeFileSync(tokensFile, JSON.stringify(randomTokens(maxB, maxP, plan.config.vocab_size as number, 42)));
    const model = opt.layers === 12 ? MODEL : `${MODEL}-${opt.layers}L`;
    const threads = `${opt.threads} threads`;

    // interp, cold: an empty weight cache, so load() builds it; one forward per shape (peak RSS).
    const cacheDir = path.join(work, 'cache');
    const coldServer = startInterp(modelDir, tokensFile, cacheDir, opt.threads);
    let cold: { load_s: number; peak_rss_mb: number };
    try {
      const ready = await coldServer.next<Ready>();
      for (const shape of opt.shapes) await coldServer.next({ shape });
      cold = { load_s: ready.load_s, peak_rss_mb: (await coldServer.next<Done>({ exit: true })).peak_rss_mb };
    } finally {
      coldServer.kill();
    }

    // interp (cache in place) and the peer, loaded one after the other, then forwards alternated.
    const interp = startInterp(modelDir, tokensFile, cacheDir, opt.threads);
    let peer: Server | null = null;
    try {
      const interpReady = await interp.next<Ready>();
      const env = peerEnv(opt.threads);
      const probe = probePeer(env);
      let peerReady: Ready | null = null;
      if (probe.ok) {
        peer = new Server('PyTorch peer', PEER_PYTHON, [PEER_SCRIPT, '--model', modelDir, '--tokens', tokensFile, '--threads', String(opt.threads)], env);
        try {
          peerReady = await peer.next<Ready>();
        } catch (error) {
          console.error(`runtime bench: the PyTorch peer failed to load: ${(error as Error).message}`);
          peer = null;
        }
      } else {
        console.error(`runtime bench: no PyTorch peer: ${probe.why}`);
      }

      const interpLogits = path.join(work, 'interp-logits.bin');
      const peerLogits = path.join(work, 'peer-logits.bin');
      const times = { interp: {} as Record<string, number[]>, peer: {} as Record<string, number[]> };
      let interpFirst = NaN;
      let peerFirst = NaN;
      for (const shape of opt.shapes) {
        const k = shapeName(shape);
        times.interp[k] = [];
        times.peer[k] = [];
        for (let i = 0; i < opt.warmup + opt.runs; i++) {
          const logits = i === 0 && shape[0] === 1;
          const sides = i % 2 === 0 ? (['interp', 'peer'] as const) : (['peer', 'interp'] as const); // alternate who goes first
          for (const side of sides) {
            const server = side === 'interp' ? interp : peer;
            if (!server) continue;
            const { t } = await server.next<{ t: number }>({ shape, ...(logits ? { logits_out: side === 'interp' ? interpLogits : peerLogits } : {}) });
            if (i >= opt.warmup) times[side][k].push(t);
            if (side === 'interp' && Number.isNaN(interpFirst)) interpFirst = t;
            if (side === 'peer' && Number.isNaN(peerFirst)) peerFirst = t;
          }
        }
      }
      const interpDone = await interp.next<Done>({ exit: true });
      const peerDone = peer ? await peer.next<Done>({ exit: true }) : null;
      const peerName = peer && peerReady && peerDone
        ? `torch ${(peerReady.torch ?? '?').split('.').slice(0, 2).join('.')} + ${peerDone.blas}${peerDone.blas === 'OpenBLAS' ? '' : ' (not a fair peer)'}`
        : null;
      if (peerDone) console.error(`runtime bench: peer BLAS libraries: ${(peerDone.blas_libs ?? []).join(', ') || '(none mapped)'}${env.LD_LIBRARY_PATH ? ` (LD_LIBRARY_PATH=${env.LD_LIBRARY_PATH})` : ''}`);
      const tps = (side: 'interp' | 'peer', [b, p]: [number, number]): number | null => {
        const ts = times[side][shapeName([b, p])];
        return ts.length ? (b * p) / median(ts) : null;
      };

      for (const shape of opt.shapes) {
        yield row(`${model} forward ${shapeName(shape)}, ${threads}`, 'tokens/s', tps('interp', shape) ?? NaN, 'tok/s', peerName, peerName ? tps('peer', shape) : null, true);
      }
      const peerLoad = peerName && peerReady ? peerReady.load_s : null;
      yield row(`${model} first load (builds fp32 weight cache)`, 'load_time', cold.load_s, 's', peerName, peerLoad, false);
      yield row(`${model} second load (weight cache present)`, 'load_time', interpReady.load_s, 's', peerName, peerLoad, false);
      const first = shapeName(opt.shapes[0]);
      yield row(`${model} first forward ${first} (interp: graph build + ORT session)`, 'time', interpFirst, 's', peerName, peerName ? peerFirst : null, false);
      yield row(`${model} second load + first forward ${first}`, 'time_to_logits', interpReady.load_s + interpFirst, 's', peerName, peerLoad !== null ? peerLoad + peerFirst : null, false);
      const all = opt.shapes.map(shapeName).join('+');
      yield row(`${model} peak RSS, first load + 1 forward ${all}`, 'peak_rss', cold.peak_rss_mb, 'MB', null, null, false);
      yield row(`${model} peak RSS, second load + ${opt.warmup + opt.runs} forwards ${all}`, 'peak_rss', interpDone.peak_rss_mb, 'MB', peerName, peerDone?.peak_rss_mb ?? null, false);

      // Parity: logits of the first sequence, interp vs the peer.
      if (peerName && fs.existsSync(interpLogits) && fs.existsSync(peerLogits)) {
        const x = new Float32Array(fs.readFileSync(interpLogits).buffer.slice(0));
        const y = new Float32Array(fs.readFileSync(peerLogits).buffer.slice(0));
        let diff = x.length === y.length ? 0 : Infinity;
        let scale = 0;
        for (let i = 0; i < Math.min(x.length, y.length); i++) {
          diff = Math.max(diff, Math.abs(x[i] - y[i]));
          scale = Math.max(scale, Math.abs(y[i]));
        }
        yield { bench: BENCH, case: `${model} logits of seq 0 (${x.length} values, max |logit| ${scale.toPrecision(3)})`, metric: 'max_abs_logit_diff', value: diff, unit: '', peer: peerName, peer_value: null, ratio: null };
      } else {
        yield { bench: BENCH, case: `${model} logits of seq 0 (no peer to compare with)`, metric: 'max_abs_logit_diff', value: NaN, unit: '', peer: null, peer_value: null, ratio: null };
      }
      console.error(`runtime bench: forward times (s), interp: ${JSON.stringify(times.interp)}; peer: ${JSON.stringify(times.peer)}`);
    } finally {
      interp.kill();
      peer?.kill();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    release();
  }
};

// `node --import tsx test/bench/runtime.ts --worker JSON`: the interp side (see worker()).
if (process.argv[1] && path.resolve(process.argv[1]) === SELF && process.argv[2] === '--worker') {
  await worker(JSON.parse(process.argv[3]) as WorkerArgs);
}
