/**
 * `interp train-sae` and `interp sae import`. The CLI layer only parses flags, draws progress and
 * prints; training, evaluation and I/O are library calls (trainer.ts, metrics.ts, io.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { action, printJson } from '../src/cli/action.js';
import type { CommandSpec } from '../src/cli/command.js';
import { DEVICE_FLAG, DEVICE_HELP, parseNumberFlag } from '../src/cli/options.js';
import { progressBar } from '../src/cli/progress.js';
import { UsageError } from '../src/errors.js';
import { HOOKS } from '../src/hooks.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { openCapture, type Capture } from '../src/store/index.js';
import { DEFAULT_EXPANSION, SAE_VARIANTS, defaultTokens, type SaeVariant } from './config.js';
import { loadSae } from './io.js';
import { saeImport, saeList, type SaeImportFlags, type SaeListFlags } from './cli/registry.js';
import { sparseProbe } from './sparse-probe.js';
import { getGpu } from '../src/engine/index.js';
import { labelersFor } from './attributes.js';
import { saveSaeRun } from './run-files.js';
import { writeSaeDashboard, type TrainingLogEntry } from './dashboard.js';
import { disposeGpuSae, uploadSae } from './gpu-sae.js';
import { gpuEncoder, lmMetricsOnHeldOut } from './lm-eval.js';
import { evaluateSae } from './metrics.js';
import { hasCheckpoint } from './checkpoint.js';
import { checkpointDir, trainSae, type TrainProgress } from './trainer.js';

interface TrainFlags {
  capture: string;
  hook: string;
  hookOut?: string;
  device?: string;
  out: string;
  arch: string;
  width?: number;
  expansion?: number;
  k?: number;
  l1?: number;
  l0?: number;
  lr?: number;
  tokens?: number;
  batchTokens?: number;
  seed: number;
  checkpointEvery: number;
  resume?: boolean;
  evalFraction?: number;
  evalTokens?: number;
  deadTokens?: number;
  model?: string;
  evalSequences: number;
  json?: boolean;
  report: boolean;
  reports?: string;
}


/** A capture hook from a full or short name (`resid_post.1`). */
export function captureHook(capture: Capture, name: string): string {
  return capture.hook(name);
}

function progressLine(): { update: (p: TrainProgress) => void; stop: () => void } {
  const fmt = (p: TrainProgress) => ({ loss: p.loss.toFixed(4), l0: p.l0.toFixed(1), ev: p.explainedVariance.toFixed(3), dead: (100 * p.deadFraction).toFixed(1) });
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ format: 'train-sae [{bar}] {value}/{total} steps | loss {loss} | L0 {l0} | EV {ev} | dead {dead}% | ETA {eta_formatted}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(p) {
        if (!started) { bar.start(p.steps, p.step, fmt(p)); started = true; }
        bar.update(p.step, fmt(p));
      },
      stop: () => started && bar.stop(),
    };
  }
  let last = 0;
  return {
    update(p) {
      if (Date.now() - last < 5000 && p.step < p.steps) return;
      last = Date.now();
      const f = fmt(p);
      process.stderr.write(`train-sae: step ${p.step}/${p.steps} (${p.tokens} tokens) loss ${f.loss} L0 ${f.l0} EV ${f.ev} dead ${f.dead}%\n`);
    },
    stop() {},
  };
}

export { defaultTokens };

/**
 * Where a full hook name sits in the forward pass, as [layer, index in the hook table]
 * (model-level hooks before and after the blocks), or null for a name the table lacks.
 */
function forwardPosition(name: string): [number, number] | null {
  const block = /^blocks\.(\d+)\.(.+)$/.exec(name);
  const template = block ? `blocks.{L}.${block[2]}` : name;
  const i = HOOKS.findIndex((h) => h.template === template);
  if (i < 0) return null;
  return [block ? Number(block[1]) : name.startsWith('hook_') ? -1 : Infinity, i];
}

/** True when `out` comes before `input` in the forward pass (splicing it would change its own input). */
function upstreamOf(out: string, input: string): boolean {
  const [a, b] = [forwardPosition(out), forwardPosition(input)];
  return a !== null && b !== null && (a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]));
}

/** `--arch transcoder`: a TopK transcoder (the only transcoder interp trains). */
const TRANSCODER_ARCH = 'transcoder';

function variantOf(arch: string): SaeVariant {
  if (arch === TRANSCODER_ARCH) return 'topk';
  const v = SAE_VARIANTS.find((s) => s === arch);
  if (!v) throw new UsageError(`--arch ${arch}: unknown SAE variant`, `use one of ${SAE_VARIANTS.join(', ')}, ${TRANSCODER_ARCH}`);
  return v;
}

async function train(flags: TrainFlags): Promise<void> {
  const variant = variantOf(flags.arch);
  const transcoder = flags.arch === TRANSCODER_ARCH;
  if (transcoder && flags.hookOut === undefined) throw new UsageError('--arch transcoder needs --hook-out', 'name the hook it predicts, e.g. --hook blocks.0.ln2.hook_normalized --hook-out blocks.0.hook_mlp_out');
  if (!transcoder && flags.hookOut !== undefined) throw new UsageError(`--hook-out given for --arch ${flags.arch}`, 'pass --arch transcoder to train a transcoder, or drop --hook-out');
  if (flags.width !== undefined && flags.expansion !== undefined) throw new UsageError('--width and --expansion both given', 'pass one: --width N latents, or --expansion F (N = F·d_in)');
  if (flags.l1 !== undefined && variant !== 'relu') throw new UsageError(`--l1 applies to --arch relu, not ${variant}`, variant === 'jumprelu' ? 'use --l0 for JumpReLU' : 'drop --l1 (TopK variants set sparsity with --k)');
  if (flags.l0 !== undefined && variant !== 'jumprelu') throw new UsageError(`--l0 applies to --arch jumprelu, not ${variant}`, 'drop --l0');
  const capture = openCapture(flags.capture);
  try {
    const hook = captureHook(capture, flags.hook);
    const hookOut = flags.hookOut !== undefined ? captureHook(capture, flags.hookOut) : undefined;
    // Refused before training rather than after: the CE-loss splice needs OUT downstream of IN.
    if (hookOut && flags.model && upstreamOf(hookOut, hook)) {
      throw new UsageError(`--hook-out ${hookOut} comes before --hook ${hook} in the forward pass, so the transcoder cannot be spliced in for --model's CE-loss score`, 'swap the hooks (a transcoder predicts a later hook from an earlier one), or drop --model');
    }
    const bar = progressLine();
    const trainingLog: TrainingLogEntry[] = [];
    const logProgress = (p: TrainProgress) => {
      trainingLog.push({ tokens: p.tokens, loss: p.loss, l0: p.l0, explained_variance: p.explainedVariance, dead_fraction: p.deadFraction });
      bar.update(p);
    };
    // A run killed before its first checkpoint has nothing to continue: --resume starts it again,
    // so that a job that always passes --resume (a preemptible one) runs after any kill.
    let resume = flags.resume === true;
    if (resume && !hasCheckpoint(checkpointDir(flags.out))) {
      process.stderr.write(`train-sae: no checkpoint in ${checkpointDir(flags.out)} yet (the run stopped before its first one, or never ran): starting from step 0\n`);
      resume = false;
    }
    let result;
    try {
      result = await trainSae({
        capture, hook, ...(hookOut ? { hookOut } : {}), out: flags.out, resume,
        config: {
          variant, dSae: flags.width, expansion: flags.expansion, k: flags.k, sparsityCoefficient: flags.l1 ?? flags.l0, lr: flags.lr, batchTokens: flags.batchTokens, seed: flags.seed,
          tokens: flags.tokens,
          checkpointEvery: flags.checkpointEvery, evalFraction: flags.evalFraction, deadTokens: flags.deadTokens,
        },
        metadata: { model_name: capture.manifest.model.id, context_size: capture.manifest.context, interp_capture: path.resolve(capture.dir) },
        progress: logProgress,
      });
    } finally {
      bar.stop();
    }
    const evalBar = progressBar('evaluate', 'tokens');
    const metrics = await evaluateSae(result.sae, capture, { hook, ...(hookOut ? { hookOut } : {}), sequences: result.heldOut, maxTokens: flags.evalTokens, expectedTokens: result.heldOutTokens, progress: evalBar.update });
    evalBar.stop();
    const lm = flags.model ? await lmMetricsOnHeldOut(flags.model, result.sae, capture, result.heldOut, flags.evalSequences, flags.device !== undefined ? { device: flags.device } : {}) : null;
    const { summary, manifest } = saveSaeRun(flags.out, { capture, hook, result, metrics, lm, command: ['interp', ...process.argv.slice(2)] });
    const report = flags.report ? await writeDashboard(flags, capture, hook, result, summary.metrics, lm, trainingLog, manifest) : null;
    // The --json document is exactly the contract; the dashboard's path goes to stderr.
    if (report) process.stderr.write(`dashboard: ${report.file}\n`);
    if (flags.json) printJson(summary);
    else {
      const what = hookOut
        ? `${variant} transcoder ${result.config.dIn}→${result.config.dSae}→${result.config.dOut} on ${result.tokens} tokens, ${hook} → ${hookOut},`
        : `${variant} SAE ${result.config.dIn}→${result.config.dSae} on ${result.tokens} tokens of ${hook}`;
      const ev = hookOut ? `EV of ${hookOut}` : 'EV';
      const ce = lm ? `, CE-loss score ${lm.ceLossScore.toFixed(4)}` : '';
      process.stdout.write(`trained ${what} in ${result.seconds.toFixed(1)} s: held-out L0 ${metrics.l0.toFixed(1)}, ${ev} ${metrics.explainedVariance.toFixed(4)}, dead ${(100 * metrics.deadFraction).toFixed(2)}%${ce} → ${path.resolve(flags.out)}\n`);
    }
  } finally {
    capture.close();
  }
}

/**
 * The SAE dashboard over the held-out sequences of the capture (encoded on the GPU), with the
 * training curves, the held-out metrics, logit effects when the capture's model is on disk, and on
 * TinyWorld captures the best-matching latent per known attribute.
 */
async function writeDashboard(
  flags: TrainFlags,
  capture: Capture,
  hook: string,
  result: Awaited<ReturnType<typeof trainSae>>,
  metrics: Record<string, number | null>,
  lm: Awaited<ReturnType<typeof lmMetricsOnHeldOut>> | null,
  trainingLog: readonly TrainingLogEntry[],
  manifest: object,
) {
  const gpu = uploadSae(await getGpu(), result.sae);
  try {
    const modelDir = flags.model ?? capture.manifest.model.dir;
    // Labelers a dataset provider registered for this capture's dataset (TinyWorld's, via src/cli/providers.ts).
    const labelers = labelersFor(capture.manifest.dataset.path);
    const dash = await writeSaeDashboard({
      sae: result.sae, captureDir: capture.dir, hook, name: `sae-${path.basename(path.resolve(flags.out))}`,
      ...(flags.reports ? { reportsDir: flags.reports } : {}),
      manifest, trainingLog, metrics, ...(lm ? { lmMetrics: lm } : {}),
      ...(fs.existsSync(path.join(modelDir, 'config.json')) ? { model: modelDir } : {}),
      ...(labelers ? { attributes: Object.values(labelers) } : {}),
      includeSequence: result.heldOut, encode: gpuEncoder(gpu), maxRows: 200_000,
    });
    // The attribute tables are a result in their own right (the demo's overview quotes the
    // next-word one), so they are kept beside metrics.json, keyed as the provider keys its
    // labelers, and not only inside the HTML (TinyWorld: {"next_word": AttributeReport, "state": AttributeReport}).
    if (labelers) {
      const doc = Object.fromEntries(Object.keys(labelers).map((key, i) => [key, dash.attributes[i]]));
      writeFileAtomic(path.join(flags.out, 'attributes.json'), [Buffer.from(`${JSON.stringify(doc, null, 2)}\n`)]);
    }
    return { file: dash.report.file };
  } finally {
    disposeGpuSae(gpu);
  }
}

const num = (flag: string, o: { min?: number; max?: number; integer?: boolean } = {}) => parseNumberFlag(flag, o);

export const trainSaeCommand: CommandSpec = {
  name: 'train-sae',
  register(program: Command) {
    program
      .command('train-sae')
      .description('train a sparse autoencoder on one hook of a capture, or a transcoder from one hook to another (SAELens layout out)')
      .requiredOption('--capture <dir>', 'capture directory (interp capture)')
      .requiredOption('--hook <name>', 'hook to train on (full or short name, e.g. resid_post.1); a transcoder\'s input hook')
      .option('--hook-out <name>', 'with --arch transcoder: the hook of the same capture it predicts (e.g. --hook normalized.0.ln2 --hook-out mlp_out.0)')
      .requiredOption('--out <dir>', 'run directory: the SAE (SAELens layout), metrics.json, manifest.json, checkpoint/')
      .option('--arch <variant>', `${SAE_VARIANTS.join(', ')}, or transcoder (TopK, needs --hook-out)`, 'topk')
      .option('--width <n>', 'latents d_sae', num('--width', { min: 1, integer: true }))
      .option('--expansion <f>', `d_sae / d_in (default ${DEFAULT_EXPANSION})`, num('--expansion', { min: 0.01 }))
      .option('--k <n>', 'active latents per token (topk, batchtopk; default 32)', num('--k', { min: 1, integer: true }))
      .option('--l1 <λ>', 'L1 coefficient (relu; default 5 on inputs scaled to E‖x‖ = √d)', num('--l1', { min: 0 }))
      .option('--l0 <λ>', 'L0 coefficient (jumprelu; default 1)', num('--l0', { min: 0 }))
      .option('--lr <lr>', 'Adam learning rate (default: topk and batchtopk 2e-4 / sqrt(width / 16384) as sparsify, 4e-4 at width 4096; relu and jumprelu 3e-4)', num('--lr', { min: 0 }))
      .option('--tokens <n>', 'training tokens (default: one pass over the capture, at least 2,000,000: a smaller capture is repeated)', num('--tokens', { min: 1, integer: true }))
      .option('--batch-tokens <n>', 'tokens per step (default 4096)', num('--batch-tokens', { min: 1, integer: true }))
      .option('--seed <n>', 'initialisation and shuffle seed', num('--seed', { min: 0, integer: true }), 0)
      .option('--checkpoint-every <n>', 'steps between checkpoints (0: at the end only)', num('--checkpoint-every', { min: 0, integer: true }), 1000)
      .option('--resume', 'continue from OUT/checkpoint (from step 0 when the run stopped before its first checkpoint)')
      .option('--eval-fraction <f>', 'fraction of sequences held out for evaluation (default 0.05)', num('--eval-fraction', { min: 0, max: 0.99 }))
      .option('--eval-tokens <n>', 'evaluate on at most this many held-out tokens', num('--eval-tokens', { min: 1, integer: true }))
      .option('--dead-tokens <n>', 'a latent is dead after this many tokens without firing (default: 1% of the run, at least 10 batches, at most 10M)', num('--dead-tokens', { min: 1, integer: true }))
      .option('--model <dir>', 'model directory: also compute CE-loss score, KL score and delta LM loss on held-out sequences')
      .option(DEVICE_FLAG, DEVICE_HELP)
      .option('--eval-sequences <n>', 'held-out sequences for the CE / KL metrics', num('--eval-sequences', { min: 1, integer: true }), 64)
      .option('--no-report', 'do not write the SAE dashboard')
      .option('--reports <dir>', 'reports directory (default ./reports)')
      .option('--json', 'print a JSON summary on stdout')
      .action(action((flags: TrainFlags) => train(flags)));
  },
};

export const saeCommand: CommandSpec = {
  name: 'sae',
  register(program: Command) {
    const sae = program.command('sae').description('SAE checkpoints: import from SAELens, sparsify, Gemma Scope or a public release by name; list the releases');
    sae
      .command('import')
      .description('convert an SAE or transcoder (SAELens any version, EleutherAI sparsify, Gemma Scope params.npz, Gemma Scope 2, Llama Scope), or a public release\'s found through the Hugging Face cache, to the SAELens layout')
      .argument('<src>', 'SAE folder, sparsify hook folder, params.npz, or RELEASE/ID of a public release (`interp sae list`)')
      .requiredOption('--out <dir>', 'output folder (SAELens layout)')
      .option('--hook <name>', 'record this hook name in cfg.json metadata (default for RELEASE/ID: the registry\'s)')
      .option('--hook-out <name>', 'transcoders: record this output hook (hook_name_out); a Gemma Scope params.npz with it is read as a transcoder (default for RELEASE/ID: the registry\'s)')
      .option('--model <id>', 'record this model name in cfg.json metadata (default for RELEASE/ID: the registry\'s)')
      .option('--fold-input-norm <model>', 'a transcoder trained on the MLP input with the norm\'s weight (Gemma Scope): fold this model\'s ln1/ln2 weight in, so it reads interp\'s hook_normalized exactly')
      .option('--norm-scaling-factor <s>', 'a local SAE with normalize_activations "expected_average_only_in": the factor to fold in (SAELens\' norm_scaling_factor; RELEASE/ID takes the registry\'s)')
      .option('--download', 'RELEASE/ID: fetch the files the Hugging Face cache lacks from the hub (without it, no network is used)')
      .option('--revision <rev>', 'RELEASE/ID: branch, tag or commit of the release\'s repository (default main)')
      .option('--registry <file>', 'RELEASE/ID: a release registry other than the shipped sae/releases.json')
      .option('--json', 'print a JSON summary on stdout')
      .action(action((src: string, flags: SaeImportFlags) => saeImport(src, flags)));
    sae
      .command('list')
      .description('the public SAE releases interp imports by name (a subset of SAELens\' registry), or the SAEs of one')
      .option('--model <name>', 'only releases for this model (gpt2-small, gemma-2-2b, google/gemma-2-2b, Llama-3.1-8B)')
      .option('--release <name>', 'list the SAEs of this release: id, hook, l0, Neuronpedia id')
      .option('--registry <file>', 'a release registry other than the shipped sae/releases.json')
      .option('--json', 'print JSON on stdout')
      .action(action((flags: SaeListFlags) => saeList(flags)));
    sae
      .command('sparse-probe')
      .description('1-sparse probing: the latent that best picks out each label value of a probe-set capture (F1 over its rows)')
      .requiredOption('--sae <dir>', 'SAE folder (any layout interp reads)')
      .requiredOption('--capture <dir>', 'capture of a labelled probe set at the SAE\'s hook (e.g. --dataset tinyworld:mood --positions pos)')
      .option('--label <field>', 'label column', 'label')
      .option('--hook <name>', 'capture hook (default: the SAE\'s hook_name)')
      .option('--json', 'print the table as JSON on stdout')
      .action(action(async (flags: { sae: string; capture: string; label: string; hook?: string; json?: boolean }) => {
        const { sae } = loadSae(flags.sae);
        const capture = openCapture(flags.capture);
        try {
          const hookName = flags.hook ?? sae.cfg.metadata.hook_name;
          if (!hookName) throw new UsageError(`${flags.sae}: cfg.json names no hook`, 'pass --hook NAME');
          const report = await sparseProbe(sae, capture, captureHook(capture, hookName), flags.label);
          if (flags.json) return printJson(report);
          const rows = [...report.matches].sort((a, b) => b.f1 - a.f1).map((m) => `${m.attribute}\t${m.latent ?? '-'}\t${m.f1.toFixed(3)}\t${m.precision.toFixed(3)}\t${m.recall.toFixed(3)}`);
          process.stdout.write(`value\tlatent\tF1\tprecision\trecall\n${rows.join('\n')}\n${report.rows} rows of ${report.hook} in ${flags.capture}\n`);
        } finally {
          capture.close();
        }
      }));
  },
};
