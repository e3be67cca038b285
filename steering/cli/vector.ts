/**
 * `interp vector`: make a steering vector and write it as a vector folder (vector.safetensors +
 * vector.json). Sources: contrastive pairs (difference of means, or the first principal
 * component of the differences), a probe direction, an SAE decoder row, a random direction
 * (a control), or a plain safetensors file (re-recorded with provenance). With several hooks,
 * one folder per hook is written under --out (steer takes the parent folder and sweeps them all).
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { action, printJson } from '../../src/cli/action.js';
import type { CommandSpec } from '../../src/cli/command.js';
import { parseList, parseNumberFlag, DEVICE_FLAG, DEVICE_HELP } from '../../src/cli/options.js';
import { UsageError } from '../../src/errors.js';
import { HookedTransformer } from '../../src/runtime/model.js';
import { loadPairs } from '../pairs.js';
import { chooseProbe, openSae, probeVector } from '../external.js';
import { decoderRow, firstPrincipalComponent, meanDifference, pairDifferences, parseReadPosition, randomVector, readPositionName } from '../sources.js';
import { loadVector, saveVector } from '../vector.js';
import type { VectorJson, VectorMethod, VectorProvenance } from '../vector.js';

interface VectorFlags {
  model: string;
  out: string;
  hook?: string[];
  pairs?: string;
  method: string;
  position: string;
  maxPairs?: number;
  positiveField: string;
  negativeField: string;
  fromFile?: string;
  fromProbe?: string;
  fromSae?: string;
  latent?: number;
  random?: boolean;
  norm?: number;
  seed: number;
  batchSize: number;
  json?: boolean;
  download?: boolean;
  device?: string;
}

/** The source flags given; exactly one is allowed. */
function sourceOf(f: VectorFlags): 'pairs' | 'file' | 'probe' | 'sae' | 'random' {
  const given = ([['pairs', f.pairs], ['file', f.fromFile], ['probe', f.fromProbe], ['sae', f.fromSae], ['random', f.random]] as const).filter(([, v]) => v !== undefined && v !== false);
  if (given.length !== 1) throw new UsageError(`give exactly one vector source (got ${given.length === 0 ? 'none' : given.map(([k]) => k).join(', ')})`, 'pass --pairs FILE, --from-probe DIR, --from-sae DIR --latent I, --from-file FILE --hook H, or --random --norm X');
  return given[0][0];
}

async function run(f: VectorFlags): Promise<void> {
  const source = sourceOf(f);
  const command = ['interp', ...process.argv.slice(2)];
  const model = await HookedTransformer.load(f.model, { download: f.download, device: f.device });
  try {
    const hooks = (f.hook ?? []).map((h) => model.hook(h).name);
    const modelId = { id: f.model, hash: model.source.hash };
    const written: { hook: string; dir: string; json: VectorJson }[] = [];
    const dirFor = (hook: string) => (hooks.length > 1 ? path.join(f.out, hook) : f.out);
    if (source === 'pairs') {
      if (hooks.length === 0) throw new UsageError('--pairs needs --hook (where to read the activations)', 'pass e.g. --hook blocks.2.hook_resid_pre, or several: --hook resid_pre.1,resid_pre.2');
      const method = f.method as VectorMethod;
      if (method !== 'mean-diff' && method !== 'pca') throw new UsageError(`--method ${f.method}: expected mean-diff or pca`, 'pass --method mean-diff (CAA) or --method pca');
      const set = loadPairs(f.pairs as string, { positive: f.positiveField, negative: f.negativeField }, f.maxPairs);
      const position = parseReadPosition(f.position);
      const pairs = set.pairs.map((p) => ({ positive: model.encode(p.positive), negative: model.encode(p.negative) }));
      for (const hook of hooks) {
        const diffs = await pairDifferences(model, hook, pairs, position, f.batchSize);
        const pca = method === 'pca' ? firstPrincipalComponent(diffs) : null;
        const vector = pca ? pca.vector : meanDifference(diffs);
        const provenance: VectorProvenance = {
          method, positions: readPositionName(position), pooling: 'mean', hook_mean_norm: diffs.meanNorm, model: modelId,
          dataset: { path: set.source, sha256: set.sha256, pairs: pairs.length },
          source: pca ? { pca_explained_fraction: pca.explained, centred: false } : {}, command,
        };
        written.push({ hook, dir: dirFor(hook), json: saveVector(dirFor(hook), hook, vector, provenance) });
      }
    } else {
      const { hook, vector, facts } = singleSource(f, source, hooks, model);
      if (vector.length !== model.config.dModel) throw new UsageError(`the vector has ${vector.length} entries but ${hook} is ${model.config.dModel} wide`, 'use a vector made for this model');
      const provenance: VectorProvenance = {
        method: METHOD[source], positions: null, pooling: 'none', hook_mean_norm: null, model: modelId, dataset: null,
        source: facts, command,
      };
      written.push({ hook, dir: f.out, json: saveVector(f.out, hook, vector, provenance) });
    }
    report(f, written);
  } finally {
    await model.dispose();
  }
}

const METHOD = { file: 'file', probe: 'probe', sae: 'sae-decoder', random: 'random' } as const satisfies Record<string, VectorMethod>;

/** A vector from one file, probe, SAE row or random draw, and where it applies. */
function singleSource(f: VectorFlags, source: keyof typeof METHOD, hooks: readonly string[], model: HookedTransformer): { hook: string; vector: Float32Array; facts: VectorProvenance['source'] } {
  if (hooks.length > 1) throw new UsageError(`--${source} makes one vector: give at most one --hook`, 'pass one --hook NAME');
  switch (source) {
    case 'probe': {
      const choice = chooseProbe(f.fromProbe as string);
      if (choice.probe.json.capture.model.hash !== model.source.hash) throw new UsageError(`probe ${choice.location} was trained on activations of another model (hash ${choice.probe.json.capture.model.hash.slice(0, 12)}…, this model ${model.source.hash.slice(0, 12)}…)`, 'train the probe on a capture of this model');
      return { hook: hooks[0] ?? model.hook(choice.probe.json.hook).name, vector: probeVector(choice), facts: { probe: path.resolve(choice.location), class: choice.label } };
    }
    case 'sae': {
      if (f.latent === undefined) throw new UsageError('--from-sae needs --latent I (which decoder row)', 'pass e.g. --latent 123');
      const { sae, hook } = openSae(f.fromSae as string);
      return { hook: hooks[0] ?? model.hook(hook).name, vector: decoderRow(sae.weights.W_dec, sae.cfg.d_sae, sae.cfg.d_in, f.latent), facts: { sae: path.resolve(f.fromSae as string), latent: f.latent } };
    }
    case 'file':
    case 'random': {
      if (hooks.length !== 1) throw new UsageError(`--${source === 'file' ? 'from-file' : 'random'} needs --hook`, 'pass --hook NAME (where the vector is applied)');
      if (source === 'file') return { hook: hooks[0], vector: loadVector(f.fromFile as string, hooks[0]).vector, facts: { file: path.resolve(f.fromFile as string) } };
      return { hook: hooks[0], vector: randomFor(f, model.config.dModel), facts: { seed: f.seed } };
    }
  }
}

function randomFor(f: VectorFlags, d: number) {
  if (f.norm === undefined) throw new UsageError('--random needs --norm X (the norm of the vector it stands in for)', 'pass e.g. --norm 4.4 (see "norm" in the other vector\'s vector.json)');
  return randomVector(d, f.norm, f.seed);
}

function report(f: VectorFlags, written: readonly { hook: string; dir: string; json: VectorJson }[]): void {
  if (f.json) {
    printJson({ out: path.resolve(f.out), vectors: written.map((w) => ({ hook: w.hook, dir: path.resolve(w.dir), method: w.json.method, norm: w.json.norm, hook_mean_norm: w.json.hook_mean_norm })) });
    return;
  }
  for (const w of written) process.stdout.write(`${w.hook}: ${w.json.method} vector, norm ${w.json.norm.toFixed(4)}${w.json.hook_mean_norm !== null ? ` (mean ‖h‖ ${w.json.hook_mean_norm.toFixed(3)})` : ''} → ${w.dir}\n`);
}

export const vectorCommand: CommandSpec = {
  name: 'vector',
  register(program: Command) {
    program
      .command('vector')
      .description('make a steering vector: difference of means or PCA over contrastive pairs, a probe direction, an SAE decoder row, a random control, or a file')
      .requiredOption('--model <dir>', 'model directory or hub id')
      .requiredOption('--out <dir>', 'vector folder (vector.safetensors + vector.json); with several hooks, one sub-folder per hook')
      .option('--hook <names>', 'hook(s) to read at / apply at, comma-separated (full or short names)', parseList)
      .option('--pairs <file>', 'contrastive pairs: JSONL {"positive","negative"} per line, or tinyworld:pairs-happy-sad')
      .option('--method <m>', 'mean-diff (CAA/ActAdd) or pca (first uncentred principal component of the differences)', 'mean-diff')
      .option('--position <p>', 'where to read each text: last, mean (all but BOS), differing (where the pair differs), from-first-difference, or a token index', 'last')
      .option('--max-pairs <n>', 'use only the first n pairs', parseNumberFlag('--max-pairs', { min: 1, integer: true }))
      .option('--positive-field <name>', 'JSONL field of the positive text', 'positive')
      .option('--negative-field <name>', 'JSONL field of the negative text', 'negative')
      .option('--from-file <file>', 'a safetensors file with one tensor "vector" [d] (or another vector folder)')
      .option('--from-probe <dir>', 'a probe folder, DIR or DIR:CLASS for one-vs-rest probes (its direction in raw activation space)')
      .option('--from-sae <dir>', 'an SAE folder (SAELens layout); with --latent, its decoder row')
      .option('--latent <i>', 'SAE latent index', parseNumberFlag('--latent', { min: 0, integer: true }))
      .option('--random', 'a random direction (control); needs --norm')
      .option('--norm <x>', 'norm of a --random vector', parseNumberFlag('--norm', { min: 0 }))
      .option('--seed <s>', 'seed of a --random vector', parseNumberFlag('--seed', { integer: true }), 0)
      .option('--batch-size <n>', 'texts per forward pass', parseNumberFlag('--batch-size', { min: 1, integer: true }), 16)
      .option('--download', 'download a hub id that is not in the Hugging Face cache')
      .option(DEVICE_FLAG, DEVICE_HELP)
      .option('--json', 'print {"out","vectors":[{hook,dir,method,norm}]} on stdout')
      .action(action((flags: VectorFlags) => run(flags)));
  },
};
