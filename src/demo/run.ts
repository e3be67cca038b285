/**
 * `interp demo`: runs the stages of stages.ts one after another, each as its own `interp`
 * process (so each shows its own progress on stderr and frees its memory and GPU device when it
 * ends), keeps every finished stage's --json result in OUT/demo.json, and writes the overview
 * page. An interrupted demo resumes at the first unfinished stage (capture and train-sae resume
 * inside the stage too); a folder that is not a demo folder is never written into.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError, InterpError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { listReports, type ReportEntry } from '../report/index.js';
import { versions } from '../versions.js';
import { demoPaths, demoStages, STAGE_NAMES, type DemoScale, type DemoStage, type StageName } from './stages.js';
import { writeOverview } from './overview.js';

export const DEMO_FORMAT = 'interp.demo';

/** What demo.json records for a finished stage. */
export interface StageRecord {
  readonly command: readonly string[];
  /** The stage's --json document. */
  readonly result: unknown;
  readonly seconds: number;
  /** Reports the stage wrote, relative to the reports folder. */
  readonly reports: readonly ReportEntry[];
}

export interface DemoState {
  readonly format: typeof DEMO_FORMAT;
  readonly format_version: 1;
  readonly model: string;
  readonly scale: DemoScale;
  readonly stages: Partial<Record<StageName, StageRecord>>;
  readonly versions: Record<string, string>;
}

export interface DemoOptions {
  readonly model: string;
  readonly out: string;
  readonly scale: DemoScale;
  /** Called before each stage with its 1-based index; the CLI prints a header line. */
  readonly onStage?: (stage: DemoStage, index: number, total: number, skipped: boolean) => void;
}

export interface DemoResult {
  readonly overview: string;
  readonly state: DemoState;
  readonly seconds: number;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const out = path.resolve(options.out);
  const model = path.resolve(options.model);
  let state = openState(out, model, options.scale);
  const stages = demoStages(model, out, options.scale);
  for (const [i, stage] of stages.entries()) {
    const done = state.stages[stage.name] !== undefined;
    options.onStage?.(stage, i + 1, stages.length, done);
    if (done) continue;
    const record = await runStage(stage, demoPaths(out).reports);
    state = { ...state, stages: { ...state.stages, [stage.name]: record } };
    saveState(out, state);
  }
  const overview = await writeOverview(state, out);
  return { overview, state, seconds: (Date.now() - started) / 1000 };
}

const stateFile = (out: string) => path.join(out, 'demo.json');

/** The demo's record in OUT, new or resumed; refuses a folder with anything else in it. */
function openState(out: string, model: string, scale: DemoScale): DemoState {
  const file = stateFile(out);
  if (fs.existsSync(file)) {
    let state: DemoState;
    try {
      state = JSON.parse(fs.readFileSync(file, 'utf8')) as DemoState;
    } catch (error) {
      throw new UsageError(`${file} is not readable JSON (${(error as Error).message})`, `delete ${out} and run the demo again`);
    }
    if (state.format !== DEMO_FORMAT || typeof state.stages !== 'object' || state.stages === null) throw new UsageError(`${file} is not an interp demo record`, `pass another --out, or delete ${out}`);
    if (state.model !== model || state.scale !== scale) {
      throw new UsageError(`${out} holds a demo of ${state.model} (${state.scale}), not of ${model} (${scale})`, `pass another --out, or delete ${out} to start over`);
    }
    // Only known stage names survive, so a hand-edited record cannot name a stage that never ran.
    const stages = Object.fromEntries(Object.entries(state.stages).filter(([k]) => (STAGE_NAMES as readonly string[]).includes(k)));
    return { ...state, stages };
  }
  if (fs.existsSync(out) && (!fs.statSync(out).isDirectory() || fs.readdirSync(out).length > 0)) {
    throw new UsageError(`${out} already exists and is not an interp demo folder`, 'pass --out with a new or empty folder; interp never writes into a folder it did not make');
  }
  fs.mkdirSync(out, { recursive: true });
  const state: DemoState = { format: DEMO_FORMAT, format_version: 1, model, scale, stages: {}, versions: versions() };
  saveState(out, state);
  return state;
}

function saveState(out: string, state: DemoState): void {
  writeFileAtomic(stateFile(out), [Buffer.from(`${JSON.stringify(state, null, 2)}\n`)]);
}

/**
 * The `interp` entry this module belongs to: the compiled dist/src/bin.js, or src/bin.ts when the
 * demo itself runs from source (under tsx, whose loader process.execArgv passes on).
 */
function cliEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return path.join(path.dirname(self), '..', `bin${path.extname(self)}`);
}

/** Runs one stage's command; its progress goes straight to our stderr, its --json result is parsed. */
async function runStage(stage: DemoStage, reportsDir: string): Promise<StageRecord> {
  const started = new Date();
  const command = ['interp', ...stage.args];
  const child = spawn(process.execPath, [...process.execArgv, cliEntry(), ...stage.args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (e) => reject(new EnvironmentError(`could not start ${process.execPath} for the ${stage.name} stage (${e.message})`, 'check that Node is installed and runnable')));
    child.once('close', (c, signal) => resolve(signal ? null : c));
  });
  const rerun = `fix what the message above says, then run the same \`interp demo\` again: it resumes at this stage`;
  if (code !== 0) throw new DemoStageError(`the ${stage.name} stage failed (${code === null ? 'killed by a signal' : `exit code ${code}`}): ${command.join(' ')}`, rerun);
  const stdout = Buffer.concat(chunks).toString('utf8').trim();
  let result: unknown;
  try {
    result = JSON.parse(stdout.slice(stdout.lastIndexOf('\n') + 1));
  } catch {
    throw new DemoStageError(`the ${stage.name} stage printed no JSON summary: ${command.join(' ')}`, rerun);
  }
  const reports = (await listReports(reportsDir)).filter((r) => Date.parse(r.createdAt) >= started.getTime());
  return { command, result, seconds: (Date.now() - started.getTime()) / 1000, reports };
}

/** A stage's command failed; its own message is already on stderr. */
export class DemoStageError extends InterpError {}
