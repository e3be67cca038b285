/**
 * `npm run bench -- fuzz`: 10,000 generated cases across every parser of outside data
 * (test/reliability/fuzz-cases.ts: safetensors header and index, config.json, tokenizer.json,
 * model folder, capture manifest and Arrow shards, JSONL datasets and pairs, steering vectors,
 * probes, SAEs in the SAELens, sparsify and Gemma Scope layouts). Each case corrupts a valid
 * file and calls the loader; it must succeed or throw an InterpError naming the file, within the
 * time and allocation bounds of fuzz-cases.ts.
 *
 * Rows per parser: cases, accepted, rejected, failures (must be 0), cases/s and the slowest case;
 * then the totals. There is no peer: the figures are interp's own. Failures are printed to stderr
 * with the case that caused them, and the process exits non-zero.
 *
 * Options: --cases N (10000, split evenly across parsers), --seed S (20261124).
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { TARGETS, describeCase, fuzzCase, fuzzRoot, runCase } from '../reliability/fuzz-cases.js';
import type { BenchRow, BenchRun } from './types.js';

const BENCH = 'fuzz';

interface Options { cases: number; seed: number }

function parseArgs(args: readonly string[]): Options {
  const opt: Options = { cases: 10_000, seed: 20261124 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--cases') opt.cases = Number(args[++i]);
    else if (a === '--seed') opt.seed = Number(args[++i]);
    else throw new Error(`fuzz bench: unknown option ${a} (options: --cases N --seed S)`);
  }
  if (!Number.isSafeInteger(opt.cases) || opt.cases < TARGETS.length) throw new Error(`fuzz bench: --cases must be an integer ≥ ${TARGETS.length}`);
  if (!Number.isSafeInteger(opt.seed)) throw new Error('fuzz bench: --seed must be an integer');
  return opt;
}

const row = (c: string, metric: string, value: number, unit: string): BenchRow => ({ bench: BENCH, case: c, metric, value, unit, peer: null, peer_value: null, ratio: null });

export const run: BenchRun = async function* (args) {
  const opt = parseArgs(args);
  const root = fuzzRoot();
  const total = { cases: 0, accepted: 0, rejected: 0, failed: 0, seconds: 0 };
  try {
    for (const [t, target] of TARGETS.entries()) {
      // Even split; the first (cases mod parsers) parsers take one more.
      const numRuns = Math.floor(opt.cases / TARGETS.length) + (t < opt.cases % TARGETS.length ? 1 : 0);
      const count = { accepted: 0, rejected: 0, failed: 0, slowest: 0 };
      const start = performance.now();
      const result = fc.check(
        fc.property(fuzzCase, (c) => {
          const outcome = runCase(target, c, root);
          count[outcome.kind]++;
          count.slowest = Math.max(count.slowest, outcome.ms);
          if (outcome.kind === 'failed') console.error(`FAILURE ${describeCase(target, c)}\n  ${outcome.why.split('\n').slice(0, 6).join('\n  ')}`);
        }),
        { seed: opt.seed + t, numRuns },
      );
      // The property never fails by design; a failure here is an error in the harness itself.
      if (result.failed) throw new Error(`fuzz bench: the harness threw on ${target.name}: ${String(result.errorInstance)}`);
      const seconds = (performance.now() - start) / 1000;
      yield row(target.name, 'cases', numRuns, 'cases');
      yield row(target.name, 'accepted', count.accepted, 'cases');
      yield row(target.name, 'rejected', count.rejected, 'cases');
      yield row(target.name, 'failures', count.failed, 'cases');
      yield row(target.name, 'throughput', numRuns / seconds, 'cases/s');
      yield row(target.name, 'slowest case', count.slowest, 'ms');
      total.cases += numRuns;
      total.accepted += count.accepted;
      total.rejected += count.rejected;
      total.failed += count.failed;
      total.seconds += seconds;
    }
    yield row('all parsers', 'cases', total.cases, 'cases');
    yield row('all parsers', 'accepted', total.accepted, 'cases');
    yield row('all parsers', 'rejected', total.rejected, 'cases');
    yield row('all parsers', 'failures', total.failed, 'cases');
    yield row('all parsers', 'time', total.seconds, 's');
    yield row('all parsers', 'throughput', total.cases / total.seconds, 'cases/s');
    if (total.failed > 0) process.exitCode = 1;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
};
