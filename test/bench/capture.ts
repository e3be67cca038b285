/**
 * `npm run bench -- capture [--json] [options]`: what `interp capture` (runCapture) costs on top
 * of the forward passes it needs, on a GPT-2-small shaped model (random weights, written as a
 * Hugging Face checkpoint by _hf_checkpoint.ts), and whether its memory stays flat as the token
 * count grows.
 *
 * The peer is interp's own forward pass without capture, over the same batches (the sequences
 * prepareSequences yields for the dataset, sliced in batches exactly as runCapture slices them):
 *  - full forward: model.run(batch, { logits: true }), a forward as a user would run it;
 *  - forward that stops after the last block: fetch blocks.{L-1}.hook_resid_post, logits false.
 * Measured, each a warm-up then the median of the timed runs, all in one child process whose
 * variants take turns (the order rotates every round, so a busy phase of the shared machine hits
 * every variant alike):
 *  1. runCapture of all `blocks.L.hook_resid_post`, f16, positions all → tokens/s against both
 *     forwards, and the overhead (capture time / forward time − 1; the issue's target ≤ 15%);
 *  2. runCapture of `blocks.5.hook_resid_post` only against the full forward (target ≥ 1.8×),
 *     plus, to separate the graph cut from the capture itself, a forward that stops after block 5
 *     (no capture) against the full forward, and the capture's overhead over that cut forward.
 * Overhead rows: value in %, peer_value the target in %, ratio (1 + target) / (1 + overhead), so
 * ratio ≥ 1 exactly when the target is met.
 * Captures go to a fresh temp directory each run (deleted after); INTERP_CACHE_DIR is a temp dir.
 *
 * 3. Peak RSS (process maxRSS) of one child process per token count (50k, 100k, 200k by default)
 *    capturing `blocks.5.hook_resid_post` in f16 with small shards (--mem-shard-rows, default
 *    16384 rows = 24 MiB, so several shards are written). Each row's peer is the smaller run's
 *    peak (the first row's: the same process after load + one warm-up batch of the same graph, before
 *    the capture), so ratio ≈ 1 means flat.
 *
 * Exclusive: holds `flock /tmp/interp-bench.lock` (as the other benchmarks), and before
 * measuring waits (up to --max-wait s) while `pgrep -af "train.py|bench"` shows a heavy process
 * that is not this benchmark. Pass --no-lock when already under the lock, --no-wait to skip the
 * wait.
 *
 * Options: --threads N (2), --runs N (3), --warmup N (1), --seqs N (64), --len N (128),
 * --batch N (8), --layers N (12), --mem-tokens 50000,100000,200000 (empty: skip),
 * --mem-layers N (same as --layers), --mem-shard-rows N (16384), --max-wait S (2400),
 * --no-lock, --no-wait, --device cpu|webgpu|cuda (interp's workers; default cpu or INTERP_DEVICE).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpt2Plan, writeCheckpoint } from './_hf_checkpoint.js';
import type { BenchRow, BenchRun } from './types.js';
import { acquireBenchLock } from './_lock.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '../..');
const BENCH = 'capture';
const MODEL = 'gpt2-small';
const CUT_LAYER = 5;

interface Options {
  threads: number;
  runs: number;
  warmup: number;
  seqs: number;
  len: number;
  batch: number;
  layers: number;
  memTokens: number[];
  memLayers: number | null;
  memShardRows: number;
  maxWait: number;
  lock: boolean;
  wait: boolean;
}

function parseArgs(args: readonly string[]): Options {
  const opt: Options = {
    threads: 2, runs: 3, warmup: 1, seqs: 64, len: 128, batch: 8, layers: 12,
    memTokens: [50_000, 100_000, 200_000], memLayers: null, memShardRows: 16_384, maxWait: 2400, lock: true, wait: true,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`capture bench: ${a} needs a value`);
      return v;
    };
    if (a === '--threads') opt.threads = Number(val());
    else if (a === '--runs') opt.runs = Number(val());
    else if (a === '--warmup') opt.warmup = Number(val());
    else if (a === '--seqs') opt.seqs = Number(val());
    else if (a === '--len') opt.len = Number(val());
    else if (a === '--batch') opt.batch = Number(val());
    else if (a === '--layers') opt.layers = Number(val());
    else if (a === '--mem-tokens') opt.memTokens = val().split(',').filter(Boolean).map(Number);
    else if (a === '--mem-layers') opt.memLayers = Number(val());
    else if (a === '--mem-shard-rows') opt.memShardRows = Number(val());
    else if (a === '--max-wait') opt.maxWait = Number(val());
    else if (a === '--no-lock') opt.lock = false;
    else if (a === '--no-wait') opt.wait = false;
    // interp's --device for the workers (INTERP_DEVICE); the capture and forward it times both run there.
    else if (a === '--device') process.env.INTERP_DEVICE = val();
    else throw new Error(`capture bench: unknown option ${a} (options: --threads --runs --warmup --seqs --len --batch --layers --mem-tokens --mem-layers --mem-shard-rows --max-wait --no-lock --no-wait --device)`);
  }
  if (opt.layers <= CUT_LAYER || (opt.memLayers ?? opt.layers) <= CUT_LAYER) throw new Error(`capture bench: --layers and --mem-layers must be > ${CUT_LAYER} (the cut is blocks.${CUT_LAYER})`);
  if (opt.runs < 3) console.error(`capture bench: note: --runs ${opt.runs} < 3; medians of fewer than 3 runs are noisy`);
  return opt;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const resid = (L: number): string => `blocks.${L}.hook_resid_post`;
const log = (msg: string): void => void process.stderr.write(`capture bench: ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Workers: `node --import tsx capture.ts --worker JSON`; each prints one JSON line on stdout.

type Variant = 'forward_logits' | 'forward_last' | 'forward_cut' | 'capture_all' | 'capture_cut';
const VARIANTS: readonly Variant[] = ['forward_logits', 'forward_last', 'forward_cut', 'capture_all', 'capture_cut'];

interface TimeTask {
  kind: 'time';
  model: string;
  dataset: string;
  threads: number;
  batch: number;
  runs: number;
  warmup: number;
  work: string;
}

interface MemTask {
  kind: 'memory';
  model: string;
  dataset: string;
  threads: number;
  batch: number;
  shardRows: number;
  work: string;
}

interface TimeResult {
  tokens: number;
  times: Record<Variant, number[]>;
  shards: { all: number; cut: number };
  bytes: { all: number; cut: number };
}

interface MemResult {
  tokens: number;
  rows: number;
  shards: number;
  seconds: number;
  baseline_rss_mb: number;
  peak_rss_mb: number;
  /** Current RSS after 25%, 50%, 75% and 100% of the batches. */
  rss_mb_at: number[];
}

async function worker(task: TimeTask | MemTask): Promise<void> {
  const { HookedTransformer } = await import('../../src/runtime/model.js');
  const { runCapture } = await import('../../src/capture/capture.js');
  const { prepareSequences } = await import('../../src/capture/sequences.js');
  const { parseDataset } = await import('../../src/dataset/load.js');
  const dataset = parseDataset(fs.readFileSync(task.dataset, 'utf8'), task.dataset, 'jsonl');
  const model = await HookedTransformer.load(task.model, { threads: task.threads });
  const nLayers = model.config.nLayers;
  const all = Array.from({ length: nLayers }, (_, L) => resid(L));
  const positions = { kind: 'all' } as const;
  const sequences = prepareSequences(model, dataset, { positions, context: null, maxTokens: null });
  const batches: number[][][] = [];
  for (let s = 0; s < sequences.length; s += task.batch) batches.push(sequences.slice(s, s + task.batch).map((q) => [...q.ids]));
  const tokens = sequences.reduce((a, s) => a + s.ids.length, 0);
  let outCount = 0;
  const capture = async (hooks: readonly string[], shardRows?: number, progress?: (done: number, total: number) => void) => {
    const out = path.join(task.work, `cap-${process.pid}-${outCount++}`);
    try {
      const t = performance.now();
      const summary = await runCapture({
        model, modelId: task.model, dataset, hooks, out, positions, batchSize: task.batch, context: null, maxTokens: null,
        dtype: 'f16', seed: 0, command: ['bench', 'capture'], ...(shardRows !== undefined ? { shardRows } : {}), ...(progress ? { progress } : {}),
      });
      const seconds = (performance.now() - t) / 1000;
      const bytes = summary.manifest.shards.reduce((a, s) => a + fs.statSync(path.join(out, s.file)).size, 0);
      return { seconds, rows: summary.manifest.rows, shards: summary.manifest.shards.length, bytes };
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  };
  const forward = async (opts: { fetch?: string[]; logits: boolean }): Promise<number> => {
    const t = performance.now();
    for (const b of batches) await model.run(b, opts);
    return (performance.now() - t) / 1000;
  };

  if (task.kind === 'time') {
    const times = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
    const shards = { all: 0, cut: 0 };
    const bytes = { all: 0, cut: 0 };
    const once = async (v: Variant): Promise<number> => {
      switch (v) {
        case 'forward_logits': return forward({ logits: true });
        case 'forward_last': return forward({ fetch: [resid(nLayers - 1)], logits: false });
        case 'forward_cut': return forward({ fetch: [resid(CUT_LAYER)], logits: false });
        case 'capture_all': {
          const r = await capture(all);
          shards.all = r.shards;
          bytes.all = r.bytes;
          if (r.rows !== tokens) throw new Error(`capture wrote ${r.rows} rows, expected ${tokens}`);
          return r.seconds;
        }
        case 'capture_cut': {
          const r = await capture([resid(CUT_LAYER)]);
          shards.cut = r.shards;
          bytes.cut = r.bytes;
          return r.seconds;
        }
      }
    };
    for (let i = 0; i < task.warmup + task.runs; i++) {
      const order = VARIANTS.map((_, k) => VARIANTS[(k + i) % VARIANTS.length]); // rotate who goes first
      for (const v of order) {
        const t = await once(v);
        if (i >= task.warmup) times[v].push(t);
        log(`${i < task.warmup ? 'warm-up' : `run ${i - task.warmup + 1}`} ${v}: ${t.toFixed(2)} s`);
      }
    }
    const result: TimeResult = { tokens, times, shards, bytes };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    // Baseline: load + one batch through the same graph the capture uses (so its ORT session and
    // arenas exist), before any capture.
    await model.run(batches[0], { fetch: [resid(CUT_LAYER)], logits: false });
    const baseline = process.resourceUsage().maxRSS / 1024;
    const marks = [0.25, 0.5, 0.75, 1];
    const rssAt: number[] = [];
    const r = await capture([resid(CUT_LAYER)], task.shardRows, (done, total) => {
      while (rssAt.length < marks.length && done >= marks[rssAt.length] * total) rssAt.push(process.memoryUsage().rss / 2 ** 20);
    });
    const result: MemResult = {
      tokens, rows: r.rows, shards: r.shards, seconds: r.seconds,
      baseline_rss_mb: baseline, peak_rss_mb: process.resourceUsage().maxRSS / 1024, rss_mb_at: rssAt,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  await model.dispose();
}

// ---------------------------------------------------------------------------------------------
// Parent.

/** Runs one worker to completion and parses its last JSON line; stderr passes through. */
function runWorker<T>(task: TimeTask | MemTask, cacheDir: string, threads: number): Promise<T> {
  const env = { ...process.env, INTERP_CACHE_DIR: cacheDir, OMP_NUM_THREADS: String(threads) };
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, SELF, '--worker', JSON.stringify(task)], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code === 0 && line) resolve(JSON.parse(line) as T);
      else reject(new Error(`capture bench: ${task.kind} worker exited ${code ?? sig}`));
    });
  });
}


/** This process, its ancestors (npm run bench) and its descendants: never "something heavy running". */
function ownProcesses(): Set<number> {
  const parent = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const mine = new Set<number>();
  for (let p = process.pid; p > 1 && !mine.has(p); p = parent.get(p) ?? 1) mine.add(p);
  const under = (pid: number): boolean => {
    for (let p = pid, n = 0; p > 1 && n < 64; p = parent.get(p) ?? 1, n++) if (p === process.pid) return true;
    return false;
  };
  for (const pid of parent.keys()) if (under(pid)) mine.add(pid);
  return mine;
}

/** Heavy processes of others (`pgrep -af "train.py|bench"`, minus this benchmark and lock holders). */
function heavyProcesses(): string[] {
  const r = spawnSync('pgrep', ['-af', 'train.py|bench'], { encoding: 'utf8' });
  if (r.error) return [];
  const own = ownProcesses();
  return r.stdout.split('\n').filter(Boolean).filter((line) => {
    const pid = Number(line.split(' ')[0]);
    const argv0 = path.basename(line.split(' ')[1] ?? '');
    return !own.has(pid) && !line.includes('interp-bench.lock') && argv0 !== 'pgrep' && argv0 !== 'grep';
  });
}

async function waitForQuiet(maxWait: number): Promise<string[]> {
  const start = Date.now();
  let last = '';
  for (;;) {
    const busy = heavyProcesses();
    if (busy.length === 0) return [];
    if ((Date.now() - start) / 1000 >= maxWait) {
      log(`warning: still running after ${maxWait} s, measuring anyway: ${busy.join(' | ')}`);
      return busy;
    }
    const now = busy.join(' | ');
    if (now !== last) log(`waiting for other heavy processes to finish (shared cores): ${now}`);
    last = now;
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

/** Deterministic token ids in [0, vocab). */
function tokenStream(vocab: number, seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * vocab);
  };
}

/** A JSONL dataset of `total` token ids in sequences of `len` (the last one shorter if need be). */
function writeDataset(file: string, total: number, len: number, vocab: number, seed: number): void {
  const next = tokenStream(vocab, seed);
  const lines: string[] = [];
  for (let left = total; left > 0; left -= len) {
    lines.push(JSON.stringify({ token_ids: Array.from({ length: Math.min(len, left) }, next) }));
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

function row(caseName: string, metric: string, value: number, unit: string, peer: string | null, peerValue: number | null, higherIsBetter: boolean): BenchRow {
  const ratio = peer !== null && peerValue !== null && Number.isFinite(peerValue) && value > 0 && peerValue > 0
    ? (higherIsBetter ? value / peerValue : peerValue / value)
    : null;
  return { bench: BENCH, case: caseName, metric, value, unit, peer: peerValue === null ? null : peer, peer_value: peerValue, ratio };
}

/**
 * An overhead row: value = capture time / forward time − 1, in %; peer_value = the target in %;
 * ratio = (1 + target) / (1 + overhead), so ratio ≥ 1 exactly when the target is met.
 */
function overhead(caseName: string, captureS: number, forwardS: number, peer: string, targetPct: number): BenchRow {
  const value = (captureS / forwardS - 1) * 100;
  return { bench: BENCH, case: caseName, metric: 'overhead', value, unit: '%', peer, peer_value: targetPct, ratio: (1 + targetPct / 100) / (1 + value / 100) };
}

export const run: BenchRun = async function* (args) {
  const opt = parseArgs(args);
  const release = opt.lock ? await acquireBenchLock('capture') : () => {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-bench-capture-'));
  try {
    const busyNow = opt.wait ? await waitForQuiet(opt.maxWait) : heavyProcesses();
    if (busyNow.length) log(`note: other heavy processes are running during the measurement: ${busyNow.join(' | ')}`);
    const load = os.loadavg()[0];
    if (load > 0.5) log(`note: load average ${load.toFixed(2)} before starting; other processes may slow every variant`);

    const cacheDir = path.join(work, 'cache');
    const plan = gpt2Plan({ nLayer: opt.layers });
    const vocab = plan.config.vocab_size as number;
    const modelDir = path.join(work, 'model');
    const tw = performance.now();
    const { params } = writeCheckpoint(modelDir, plan, { seed: 1234 });
    log(`wrote ${MODEL} (${opt.layers} layers, ${(params / 1e6).toFixed(1)}M params) in ${((performance.now() - tw) / 1000).toFixed(1)} s`);
    const model = opt.layers === 12 ? MODEL : `${MODEL}-${opt.layers}L`;
    const datasetFile = path.join(work, 'time.jsonl');
    writeDataset(datasetFile, opt.seqs * opt.len, opt.len, vocab, 42);
    const setup = `${opt.seqs}×${opt.len} tokens, batch ${opt.batch}, ${opt.threads} threads`;

    // --- Timing: every variant in one process, rotating order.
    const tt = performance.now();
    const t = await runWorker<TimeResult>({ kind: 'time', model: modelDir, dataset: datasetFile, threads: opt.threads, batch: opt.batch, runs: opt.runs, warmup: opt.warmup, work }, cacheDir, opt.threads);
    log(`timing done in ${((performance.now() - tt) / 1000).toFixed(0)} s; times (s): ${JSON.stringify(t.times)}; shards: ${JSON.stringify(t.shards)}; bytes: ${JSON.stringify(t.bytes)}`);
    const med = Object.fromEntries(VARIANTS.map((v) => [v, median(t.times[v])])) as Record<Variant, number>;
    const tps = (v: Variant): number => t.tokens / med[v];
    const fullPeer = 'forward without capture, with logits (same batches)';
    const lastPeer = `forward without capture, stops after blocks.${opt.layers - 1} (same batches)`;
    const capAll = `${model} capture ${opt.layers}× hook_resid_post f16, ${setup}`;
    yield row(capAll, 'tokens/s', tps('capture_all'), 'tok/s', fullPeer, tps('forward_logits'), true);
    yield row(capAll, 'tokens/s', tps('capture_all'), 'tok/s', lastPeer, tps('forward_last'), true);
    const target15 = 'target (issue): ≤ 15%';
    yield overhead(`${model} capture ${opt.layers}× resid_post overhead vs forward with logits`, med.capture_all, med.forward_logits, target15, 15);
    yield overhead(`${model} capture ${opt.layers}× resid_post overhead vs forward stopping after blocks.${opt.layers - 1}`, med.capture_all, med.forward_last, target15, 15);
    yield row(`${model} capture blocks.${CUT_LAYER}.hook_resid_post f16, ${setup} (target ≥ 1.8×)`, 'tokens/s', tps('capture_cut'), 'tok/s', fullPeer, tps('forward_logits'), true);
    yield row(`${model} forward stopping after blocks.${CUT_LAYER} (no capture: the graph cut alone), ${setup}`, 'tokens/s', tps('forward_cut'), 'tok/s', fullPeer, tps('forward_logits'), true);
    yield overhead(`${model} capture blocks.${CUT_LAYER} resid_post overhead vs forward stopping after blocks.${CUT_LAYER}`, med.capture_cut, med.forward_cut, 'no capture (0%)', 0);

    // --- Memory: one process per token count.
    const memLayers = opt.memLayers ?? opt.layers;
    let memModelDir = modelDir;
    let memCache = cacheDir;
    if (memLayers !== opt.layers) {
      memModelDir = path.join(work, 'model-mem');
      memCache = path.join(work, 'cache-mem');
      writeCheckpoint(memModelDir, gpt2Plan({ nLayer: memLayers }), { seed: 1234 });
    }
    const memModel = memLayers === opt.layers ? model : `${MODEL}-${memLayers}L (reduced model for the memory rows)`;
    let previous: { tokens: number; peak: number } | null = null;
    for (const n of opt.memTokens) {
      const file = path.join(work, `mem-${n}.jsonl`);
      writeDataset(file, n, opt.len, vocab, 7);
      const m = await runWorker<MemResult>({ kind: 'memory', model: memModelDir, dataset: file, threads: opt.threads, batch: opt.batch, shardRows: opt.memShardRows, work }, memCache, opt.threads);
      fs.rmSync(file, { force: true });
      log(`memory ${n} tokens: ${m.rows} rows in ${m.shards} shards, ${m.seconds.toFixed(0)} s (${(m.tokens / m.seconds).toFixed(0)} tok/s); baseline maxRSS ${m.baseline_rss_mb.toFixed(0)} MB, peak ${m.peak_rss_mb.toFixed(0)} MB; RSS at 25/50/75/100%: ${m.rss_mb_at.map((x) => x.toFixed(0)).join('/')} MB`);
      const caseName = `${memModel} peak RSS, capture blocks.${CUT_LAYER} resid_post f16, ${n} tokens (${m.shards} shards of ≤ ${opt.memShardRows} rows)`;
      if (previous === null) yield row(caseName, 'peak_rss', m.peak_rss_mb, 'MB', 'same process after load + 1 warm-up batch, before capture', m.baseline_rss_mb, false);
      else yield row(caseName, 'peak_rss', m.peak_rss_mb, 'MB', `capture of ${previous.tokens} tokens`, previous.peak, false);
      previous = { tokens: n, peak: m.peak_rss_mb };
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    release();
  }
};

// `node --import tsx test/bench/capture.ts --worker JSON`: a measuring child (see worker()).
if (process.argv[1] && path.resolve(process.argv[1]) === SELF && process.argv[2] === '--worker') {
  await worker(JSON.parse(process.argv[3]) as TimeTask | MemTask);
}
