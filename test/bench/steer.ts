/**
 * `npm run bench -- steer [--json] [options]`: generation tokens/s with a steering vector added
 * at one hook against the same generation with no intervention — same model, prompts, seeds and
 * batch — on a GPT-2-small shaped random checkpoint (test/bench/_hf_checkpoint.ts) and on the
 * TinyWorld model. The peer is interp itself without steering: the question is what steering
 * costs, and the target is ≥ 0.95× (ratio = steered / unsteered tokens/s).
 *
 * The two conditions alternate run by run (which goes first alternates too), after warm-up runs
 * that also build both ONNX sessions, and the median of the timed runs is reported, so a busy
 * phase of the machine slows both alike. Exclusive: holds `flock /tmp/interp-bench.lock` like
 * the other benchmarks (--no-lock when already under it).
 *
 * Options: --threads N (2), --runs N (5), --warmup N (1), --batch N (4), --prompt N (32),
 * --new N (32), --layers N (12), --no-lock.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TINYWORLD_MODEL_DIR } from '../../datasets/tinyworld/index.js';
import { generate } from '../../src/runtime/generate.js';
import type { Intervention } from '../../src/runtime/interventions.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { randomVector } from '../../steering/sources.js';
import { gpt2Plan, writeCheckpoint } from './_hf_checkpoint.js';
import type { BenchRow, BenchRun } from './types.js';
import { acquireBenchLock } from './_lock.js';

const BENCH = 'steer';
const PEER = 'interp, no intervention';

interface Options {
  threads: number;
  runs: number;
  warmup: number;
  batch: number;
  prompt: number;
  newTokens: number;
  layers: number;
  lock: boolean;
}

function parseArgs(args: readonly string[]): Options {
  const opt: Options = { threads: 2, runs: 5, warmup: 1, batch: 4, prompt: 32, newTokens: 32, layers: 12, lock: true };
  const keys: Record<string, keyof Options> = { '--threads': 'threads', '--runs': 'runs', '--warmup': 'warmup', '--batch': 'batch', '--prompt': 'prompt', '--new': 'newTokens', '--layers': 'layers' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--no-lock') opt.lock = false;
    else if (a in keys && args[i + 1] !== undefined) (opt as unknown as Record<string, number>)[keys[a]] = Number(args[++i]);
    else throw new Error(`steer bench: unknown option ${a} (options: ${Object.keys(keys).join(' N, ')} N, --no-lock)`);
  }
  return opt;
}


const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Deterministic prompts: BOS-free token ids in [4, vocab). */
function prompts(b: number, p: number, vocab: number): number[][] {
  let s = 42;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  return Array.from({ length: b }, () => Array.from({ length: p }, () => 4 + (next() % (vocab - 4))));
}

/** Median tokens/s of generation with and without `interventions`, alternating. */
async function measure(model: HookedTransformer, seqs: number[][], opt: Options, interventions: Intervention[]): Promise<{ off: number; on: number }> {
  const once = async (ivs: Intervention[]) => {
    const t = performance.now();
    const out = await generate(model, seqs, { maxNewTokens: opt.newTokens, temperature: 1, seeds: seqs.map((_, i) => i), stopAtEos: false, interventions: ivs });
    const tokens = out.sequences.reduce((a, s) => a + s.generated.length, 0);
    return tokens / ((performance.now() - t) / 1000);
  };
  for (let i = 0; i < opt.warmup; i++) { await once([]); await once(interventions); }
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < opt.runs; i++) {
    if (i % 2 === 0) { off.push(await once([])); on.push(await once(interventions)); } else { on.push(await once(interventions)); off.push(await once([])); }
  }
  return { off: median(off), on: median(on) };
}

function rows(caseName: string, r: { off: number; on: number }): BenchRow[] {
  return [
    { bench: BENCH, case: caseName, metric: 'generation tokens/s, vector on', value: r.on, unit: 'tokens/s', peer: PEER, peer_value: r.off, ratio: r.on / r.off },
  ];
}

export const run: BenchRun = async function* (args) {
  const opt = parseArgs(args);
  const release = opt.lock ? await acquireBenchLock('steer') : () => {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'interp-bench-steer-'));
  try {
    const plan = gpt2Plan({ nLayer: opt.layers });
    const dir = path.join(work, 'gpt2');
    writeCheckpoint(dir, plan, { seed: 1234 });
    const cases: { name: string; dir: string; hook: string }[] = [
      { name: `gpt2-small (${opt.layers} layers) b=${opt.batch} prompt=${opt.prompt} new=${opt.newTokens}, add at resid_pre.${opt.layers >> 1}`, dir, hook: `blocks.${opt.layers >> 1}.hook_resid_pre` },
      { name: `tinyworld b=${opt.batch} prompt=${opt.prompt} new=${opt.newTokens}, add at resid_post.3`, dir: TINYWORLD_MODEL_DIR, hook: 'blocks.3.hook_resid_post' },
    ];
    for (const c of cases) {
      const model = await HookedTransformer.load(c.dir, { threads: opt.threads });
      try {
        const seqs = prompts(opt.batch, opt.prompt, model.config.vocabSize);
        const v = randomVector(model.config.dModel, 4, 7);
        // All positions (prompt and generated): the intervention runs at every step.
        yield* rows(c.name, await measure(model, seqs, opt, [{ kind: 'add', hook: c.hook, value: v, positions: 'all' }]));
      } finally {
        await model.dispose();
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    release();
  }
};
