/**
 * `interp train-probe` (a layer sweep of linear probes on a capture) and `interp probe` (score a
 * capture with a trained probe). Both parse flags into the library's typed options and print
 * a table, or with --json one JSON document.
 */
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { action, printJson } from '../src/cli/action.js';
import type { CommandSpec } from '../src/cli/command.js';
import { parseList, parseNumberFlag } from '../src/cli/options.js';
import { progressBar } from '../src/cli/progress.js';
import { UsageError } from '../src/errors.js';
import { loadProbe, type Preprocess, type ProbeKind } from './artifact.js';
import { applyProbeToCapture, type CentreSource, type ScoreOutput } from './apply.js';
import { writeProbeReport } from './report.js';
import { trainProbe } from './train.js';

interface TrainFlags {
  capture: string;
  label: string;
  hooks?: string[];
  kind: string;
  split: number;
  seed: number;
  c: number;
  tol: number;
  maxIter: number;
  center?: boolean;
  standardize?: boolean;
  out: string;
  report: boolean;
  reports?: string;
  json?: boolean;
}

function parseKind(value: string): ProbeKind {
  if (value === 'logistic' || value === 'mean-diff') return value;
  throw new UsageError(`--kind ${value}: expected logistic or mean-diff`, 'pass --kind logistic (default) or --kind mean-diff');
}

function preprocessOf(flags: TrainFlags): Preprocess {
  if (flags.center && flags.standardize) throw new UsageError('--center and --standardize both given; --standardize already centres', 'pass one of them');
  return flags.standardize ? 'standardize' : flags.center ? 'center' : 'none';
}

const fmt = (v: number | null): string => (v === null || Number.isNaN(v) ? '-' : v.toFixed(3));

async function runTrainProbe(flags: TrainFlags): Promise<void> {
  const kind = parseKind(flags.kind);
  const preprocess = preprocessOf(flags);
  const bar = progressBar('train-probe', 'hooks');
  let result;
  try {
    result = await trainProbe({
      capture: flags.capture, label: flags.label, hooks: flags.hooks, kind, split: flags.split, seed: flags.seed,
      c: flags.c, tol: flags.tol, maxIter: flags.maxIter, preprocess, out: flags.out,
      command: ['interp', ...process.argv.slice(2)], progress: bar.update,
    });
  } finally {
    bar.stop();
  }
  const report = flags.report ? await writeProbeReport(result, { reportsDir: flags.reports, out: flags.out }) : null;
  const layers = result.layers.map((l) => ({ hook: l.hook, ...l.metrics, path: l.path }));
  if (flags.json) {
    printJson({ layers, best: { hook: result.best.hook, test_acc: result.best.test_acc }, shuffled_control: result.shuffled, out: flags.out, report: report?.file ?? null });
    return;
  }
  const lines = [['hook', 'train_acc', 'test_acc', 'auc', 'baseline', 'control', 'selectivity'].join('\t')];
  for (const l of layers) lines.push([l.hook, fmt(l.train_acc), fmt(l.test_acc), fmt(l.auc), fmt(l.baseline_acc), fmt(l.control_acc), fmt(l.selectivity)].join('\t'));
  lines.push(`best: ${result.best.hook} (test accuracy ${fmt(result.best.test_acc)}); shuffled-label control there: ${fmt(result.shuffled.test_acc)} (majority class ${fmt(result.shuffled.chance)})`);
  lines.push(`probes: ${flags.out}`);
  if (report) lines.push(`report: ${report.file}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export const trainProbeCommand: CommandSpec = {
  name: 'train-probe',
  register(program: Command) {
    program
      .command('train-probe')
      .description('train linear probes on every captured hook (layer sweep) and report accuracy, AUC, baseline and selectivity')
      .requiredOption('--capture <dir>', 'capture directory (`interp capture --out`)')
      .requiredOption('--label <field>', 'label column to probe (a field of the dataset lines)')
      .requiredOption('--out <dir>', 'run directory: one folder per hook with probe.safetensors and probe.json, plus manifest.json')
      .option('--hooks <names>', 'comma-separated hooks to sweep (default: all captured)', parseList)
      .option('--kind <kind>', 'logistic (L2, sklearn objective) or mean-diff', 'logistic')
      .option('--split <f>', 'train fraction by sequence; 1 trains on everything (train metrics only)', parseNumberFlag('--split', { min: 0, max: 1 }), 0.8)
      .option('--seed <s>', 'seed of the split, control task and baseline', parseNumberFlag('--seed', { integer: true }), 0)
      .option('--c <C>', 'inverse L2 strength (sklearn C)', parseNumberFlag('--c', { min: 0 }), 1)
      .option('--tol <t>', 'L-BFGS stop: max |gradient| of the mean-scaled objective (sklearn tol)', parseNumberFlag('--tol', { min: 0 }), 1e-4)
      .option('--max-iter <n>', 'most L-BFGS iterations', parseNumberFlag('--max-iter', { min: 1, integer: true }), 1000)
      .option('--center', 'subtract the training mean (stored as `mean`)')
      .option('--standardize', 'subtract the training mean and divide by the training std (stored as `mean`, `scale`)')
      .option('--no-report', 'do not write the HTML report')
      .option('--reports <dir>', 'reports directory (default ./reports)')
      .option('--json', 'print a JSON summary on stdout')
      .action(action((flags: TrainFlags) => runTrainProbe(flags)));
  },
};

interface ApplyFlags {
  probe: string;
  capture: string;
  output: string;
  centre: string;
  out?: string;
  json?: boolean;
}

async function runProbe(flags: ApplyFlags): Promise<void> {
  if (flags.output !== 'probability' && flags.output !== 'logit') throw new UsageError(`--output ${flags.output}: expected probability or logit`, 'pass --output probability or --output logit');
  if (flags.centre !== 'probe' && flags.centre !== 'capture') throw new UsageError(`--centre ${flags.centre}: expected probe or capture`, 'pass --centre probe (the stored training mean) or --centre capture');
  const probe = loadProbe(flags.probe);
  const s = await applyProbeToCapture(probe, flags.capture, { output: flags.output as ScoreOutput, centre: flags.centre as CentreSource });
  if (flags.out) await writeScores(flags.out, s);
  let meanScore = 0;
  for (let i = 0; i < s.rows; i++) meanScore += s.scores[i * s.k] / Math.max(s.rows, 1);
  if (flags.json) {
    printJson({ probe: flags.probe, hook: probe.json.hook, rows: s.rows, output: s.output, classes: s.classes, accuracy: s.accuracy, mean_score: meanScore, out: flags.out ?? null });
    return;
  }
  process.stdout.write(`scored ${s.rows} rows of ${flags.capture} with the ${probe.json.label.field} probe at ${probe.json.hook}` +
    `${s.accuracy === null ? '' : `; accuracy against the capture's ${probe.json.label.field} labels: ${s.accuracy.toFixed(3)}`}${flags.out ? `; scores in ${flags.out}` : ''}\n`);
}

/** JSONL, one line per row: seq, pos, token, scores (one per column) and the predicted class. */
async function writeScores(file: string, s: Awaited<ReturnType<typeof applyProbeToCapture>>): Promise<void> {
  const stream = createWriteStream(file);
  for (let i = 0; i < s.rows; i++) {
    const scores = Array.from(s.scores.subarray(i * s.k, (i + 1) * s.k));
    const line = JSON.stringify({ seq: s.seq[i], pos: s.pos[i], token_id: s.tokenId[i], token: s.token[i], score: s.k === 1 ? scores[0] : scores, predicted: s.classes[s.predicted[i]] });
    if (!stream.write(`${line}\n`)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

export const probeCommand: CommandSpec = {
  name: 'probe',
  register(program: Command) {
    program
      .command('probe')
      .description('score the activations of a capture with a trained probe (per-token scores)')
      .requiredOption('--probe <dir>', 'probe folder (holds probe.json and probe.safetensors)')
      .requiredOption('--capture <dir>', 'capture directory holding the probe\'s hook')
      .option('--output <kind>', 'probability or logit', 'probability')
      .option('--centre <source>', 'for centred probes: the mean to subtract, probe (training mean) or capture (per-dataset)', 'probe')
      .option('--out <file>', 'write per-token scores as JSONL')
      .option('--json', 'print a JSON summary on stdout')
      .action(action((flags: ApplyFlags) => runProbe(flags)));
  },
};
