/**
 * `npm run bench -- memory [--json] [options]`: peak resident memory of `interp capture` and
 * `interp train-sae` as the token count grows (issue 9: it must not grow with the token count).
 *
 * For each token count N (250k, 500k, 1M by default), on the embedded TinyWorld model
 * (datasets/tinyworld/model, d_model 128):
 *  1. a JSONL of ⌈N / 80⌉ TinyWorld corpus stories (the `tinyworld:corpus` generator with a larger
 *     count; ~85 tokens a story) is written to a temp dir, so the dataset grows with N too;
 *  2. `interp capture --hooks blocks.2.hook_resid_post --max-tokens N` (CLI defaults otherwise:
 *     f32, batch 8, ~128 MiB shards) in a child process;
 *  3. `interp train-sae --tokens N` on that capture (CLI defaults for the SAE: when written, TopK,
 *     32× expansion = 4,096 latents, k 32, batch 4,096; the row names what ran), one pass, with
 *     held-out evaluation and the SAE dashboard written to a temp reports dir (--no-report skips
 *     the dashboard), in a child process.
 * Each child is the CLI itself (src/cli.ts main, through tsx as `npm run bench` runs), started
 * fresh; its peak RSS is the kernel's getrusage maxRSS of that process, read at exit, and it samples
 * process.memoryUsage() every 250 ms so the log shows where memory goes (rss, JS heap, array buffers).
 *
 * Rows: peak_rss in MiB per command and N; the peer of the smallest N is a baseline process (the
 * same CLI loading the model and generating 8 tokens), the peer of every larger N is the same
 * command at the smallest N, so ratio = peer / value ≈ 1.0 means flat (ratio < 1: it grew). Plus
 * tokens/s rows (wall clock, noisy on a shared machine) against the smallest N.
 *
 * Holds `flock /tmp/interp-bench.lock` like the other benchmarks (--no-lock when already under it).
 * Options: --tokens 250000,500000,1000000, --hook blocks.2.hook_resid_post, --dtype f32|f16,
 * --no-report, --no-lock, --keep (leave the temp dir and print its path).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchRun } from './types.js';
import { acquireBenchLock } from './_lock.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), '../..');
const BENCH = 'memory';
const MODEL_DIR = path.join(REPO, 'datasets/tinyworld/model');
/** Fewer than the ~85 tokens of an average TinyWorld story, so ⌈N / 80⌉ stories always hold N tokens. */
const TOKENS_PER_STORY = 80;
const MiB = 2 ** 20;

interface Options {
  tokens: number[];
  hook: string;
  dtype: 'f32' | 'f16';
  report: boolean;
  lock: boolean;
  keep: boolean;
}

function parseArgs(args: readonly string[]): Options {
  const o: Options = { tokens: [250_000, 500_000, 1_000_000], hook: 'blocks.2.hook_resid_post', dtype: 'f32', report: true, lock: true, keep: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`memory bench: ${a} needs a value`);
      return v;
    };
    if (a === '--tokens') o.tokens = val().split(',').filter(Boolean).map(Number);
    else if (a === '--hook') o.hook = val();
    else if (a === '--dtype') o.dtype = val() as Options['dtype'];
    else if (a === '--no-report') o.report = false;
    else if (a === '--no-lock') o.lock = false;
    else if (a === '--keep') o.keep = true;
    else throw new Error(`memory bench: unknown option ${a} (options: --tokens N,N,... --hook NAME --dtype f32|f16 --no-report --no-lock --keep)`);
  }
  if (o.tokens.length === 0 || o.tokens.some((n) => !Number.isInteger(n) || n < 8192)) throw new Error('memory bench: --tokens needs integers ≥ 8192 (two SAE batches)');
  if (o.dtype !== 'f32' && o.dtype !== 'f16') throw new Error(`memory bench: --dtype f32 or f16, got ${o.dtype}`);
  o.tokens.sort((a, b) => a - b);
  return o;
}

const log = (msg: string): void => void process.stderr.write(`memory bench: ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Children: `node --import tsx memory.ts --cli REPORT_FILE interp-args...` runs the CLI and, at
// exit, writes its maxRSS and memory samples to REPORT_FILE; `--corpus N FILE` writes a dataset.

/** One process.memoryUsage() sample, MiB, `t` seconds after start. */
interface Sample {
  t: number;
  rss: number;
  heap: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

interface ChildReport {
  maxRssMiB: number;
  samples: Sample[];
}

async function cliChild(reportFile: string, argv: readonly string[]): Promise<void> {
  const t0 = performance.now();
  const samples: Sample[] = [];
  const sample = (): void => {
    const m = process.memoryUsage();
    samples.push({ t: (performance.now() - t0) / 1000, rss: m.rss / MiB, heap: m.heapUsed / MiB, heapTotal: m.heapTotal / MiB, external: m.external / MiB, arrayBuffers: m.arrayBuffers / MiB });
  };
  const timer = setInterval(sample, 250);
  timer.unref();
  process.on('exit', () => {
    sample();
    const report: ChildReport = { maxRssMiB: process.resourceUsage().maxRSS / 1024, samples };
    fs.writeFileSync(reportFile, JSON.stringify(report));
  });
  const { main } = await import('../../src/cli.js');
  await main([process.argv[0], 'interp', ...argv]);
}

async function corpusChild(count: number, file: string): Promise<void> {
  const { tinyworldDataset } = await import('../../datasets/tinyworld/index.js');
  fs.writeFileSync(file, `${tinyworldDataset('corpus', { count }).join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------
// Parent.

interface Measured extends ChildReport {
  seconds: number;
  stdout: string;
}

function runChild(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, [...process.execArgv, SELF, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    // Progress lines are long and many: keep the tail for error messages only.
    child.stderr.on('data', (d: Buffer) => void (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      if (code === 0) resolve({ seconds: (performance.now() - t) / 1000, stdout: out });
      else reject(new Error(`memory bench: ${args.slice(0, 3).join(' ')} … exited ${code ?? sig}:\n${err}`));
    });
  });
}

async function measureCli(work: string, name: string, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const reportFile = path.join(work, `${name}.rss.json`);
  const { seconds, stdout } = await runChild(['--cli', reportFile, ...argv], env);
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as ChildReport;
  return { ...report, seconds, stdout };
}

/** Quartiles of the run: the sample nearest 25/50/75/100% of the wall time, "rss (heap, buffers)". */
function profile(m: Measured): string {
  const s = m.samples;
  if (s.length === 0) return 'no samples';
  const end = s[s.length - 1].t;
  const at = (f: number) => s.reduce((best, x) => (Math.abs(x.t - f * end) < Math.abs(best.t - f * end) ? x : best));
  const maxHeap = Math.max(...s.map((x) => x.heap));
  const maxBuf = Math.max(...s.map((x) => x.arrayBuffers));
  return `${[0.25, 0.5, 0.75, 1].map((f) => { const x = at(f); return `${x.rss.toFixed(0)} (${x.heap.toFixed(0)}, ${x.arrayBuffers.toFixed(0)})`; }).join(' / ')} MiB; max JS heap ${maxHeap.toFixed(0)} MiB, max array buffers ${maxBuf.toFixed(0)} MiB`;
}

function row(caseName: string, metric: string, value: number, unit: string, peer: string | null, peerValue: number | null, higherIsBetter: boolean): BenchRow {
  const ratio = peer !== null && peerValue !== null && value > 0 && peerValue > 0 ? (higherIsBetter ? value / peerValue : peerValue / value) : null;
  return { bench: BENCH, case: caseName, metric, value, unit, peer: peerValue === null ? null : peer, peer_value: peerValue, ratio };
}

const short = (n: number): string => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n % 1000 === 0 ? `${n / 1000}k` : String(n));

export const run: BenchRun = async function* (args) {
  const opt = parseArgs(args);
  const release = opt.lock ? await acquireBenchLock(BENCH) : () => {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-bench-memory-'));
  const env = { ...process.env, INTERP_CACHE_DIR: path.join(work, 'cache') };
  try {
    const load = os.loadavg()[0];
    if (load > 0.5) log(`note: load average ${load.toFixed(2)} before starting; wall times will be noisy (peak RSS is what this bench measures)`);

    // Baseline: the CLI with the model loaded and a few forward passes.
    const base = await measureCli(work, 'baseline', ['generate', '--model', MODEL_DIR, '--prompt', 'Once upon a time', '--max-new-tokens', '8'], env);
    log(`baseline (interp generate, 8 tokens): peak ${base.maxRssMiB.toFixed(0)} MiB in ${base.seconds.toFixed(1)} s`);
    const basePeer = 'baseline: interp generate on the same model (load + 8 tokens)';

    const first: Record<'capture' | 'train-sae', { n: number; peak: number; tps: number } | null> = { capture: null, 'train-sae': null };
    for (const n of opt.tokens) {
      const dataset = path.join(work, `corpus-${n}.jsonl`);
      const stories = Math.ceil(n / TOKENS_PER_STORY);
      await runChild(['--corpus', String(stories), dataset], env);
      const cap = path.join(work, `capture-${n}`);
      const runs: { cmd: 'capture' | 'train-sae'; argv: string[]; what: string }[] = [
        {
          cmd: 'capture', what: `${opt.hook} ${opt.dtype}, ${stories} TinyWorld stories`,
          argv: ['capture', '--model', MODEL_DIR, '--dataset', dataset, '--hooks', opt.hook, '--out', cap, '--max-tokens', String(n), '--dtype', opt.dtype, '--no-report', '--json'],
        },
        {
          cmd: 'train-sae', what: `--tokens ${n} (one pass over the capture)${opt.report ? ', eval + dashboard' : ', eval, no dashboard'}`,
          argv: ['train-sae', '--capture', cap, '--hook', opt.hook, '--out', path.join(work, `sae-${n}`), '--tokens', String(n), '--json',
            ...(opt.report ? ['--reports', path.join(work, 'reports')] : ['--no-report'])],
        },
      ];
      for (const r of runs) {
        const m = await measureCli(work, `${r.cmd}-${n}`, r.argv, env);
        // Both commands print one JSON summary (--json): rows captured; the SAE trained (CLI defaults).
        const summary = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as { rows?: number; arch?: string; d_in?: number; d_sae?: number; k?: number | null; tokens?: number };
        const tokens = (r.cmd === 'capture' ? summary.rows : summary.tokens) ?? n;
        const what = r.cmd === 'capture' ? r.what : `${summary.arch} ${summary.d_in}→${summary.d_sae}${summary.k ? ` k ${summary.k}` : ''}, ${r.what}`;
        const tps = tokens / m.seconds;
        log(`${r.cmd}@${short(n)}: peak ${m.maxRssMiB.toFixed(0)} MiB, ${m.seconds.toFixed(1)} s wall (${tps.toFixed(0)} tok/s); rss (JS heap, array buffers) at 25/50/75/100% of the run: ${profile(m)}`);
        const caseName = `${r.cmd}@${short(n)} (${what})`;
        const f = first[r.cmd];
        if (f === null) {
          yield row(caseName, 'peak_rss', m.maxRssMiB, 'MiB', basePeer, base.maxRssMiB, false);
          first[r.cmd] = { n, peak: m.maxRssMiB, tps };
        } else {
          yield row(caseName, 'peak_rss', m.maxRssMiB, 'MiB', `${r.cmd}@${short(f.n)}`, f.peak, false);
          yield row(caseName, 'tokens/s', tps, 'tok/s', `${r.cmd}@${short(f.n)}`, f.tps, true);
        }
      }
      // Only one capture on disk at a time (1M f32 tokens of d 128 are 0.5 GB).
      if (!opt.keep) fs.rmSync(cap, { recursive: true, force: true });
    }
  } finally {
    if (opt.keep) log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
    release();
  }
};

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  if (process.argv[2] === '--cli') await cliChild(process.argv[3], process.argv.slice(4));
  else if (process.argv[2] === '--corpus') await corpusChild(Number(process.argv[3]), process.argv[4]);
}
