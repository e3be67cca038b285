/**
 * The actions of `interp sae import` and `interp sae list`, registered in sae/cli.ts (sae/cli/ is
 * the application layer, as .dependency-cruiser.cjs counts it): an SAE from a local folder or
 * file, or a public release by name through the registry (sae/registry.ts) and the Hugging Face
 * cache. This layer only prints; lookup, download and conversion are library calls. Downloads
 * announce each file on stderr (src/model/hub.ts), so stdout stays one JSON document under --json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { printJson } from '../../src/cli/action.js';
import { UsageError } from '../../src/errors.js';
import { importSae, type LoadedSae } from '../io.js';
import { INPUT_AFTER_NORM_WEIGHT } from '../readers/common.js';
import { openWeightsSource } from '../model-weights.js';
import type { Sae } from '../sae.js';
import { findRelease, importReleaseSae, isReleaseForModel, loadRegistry, type Registry, type Release } from '../registry.js';

/** Flags of `interp sae import`. */
export interface SaeImportFlags {
  readonly out: string;
  /** Overrides the hook name recorded in cfg.json (a release's registry hook by default). */
  readonly hook?: string;
  /** Transcoders: the output hook recorded in cfg.json (a release's registry hook_out by default). */
  readonly hookOut?: string;
  /** Overrides the model name recorded in cfg.json (a release's model by default). */
  readonly model?: string;
  /** A transcoder trained on a norm's weighted output: fold this model's norm weight in (input-norm.ts). */
  readonly foldInputNorm?: string;
  /** A local expected_average_only_in SAE: SAELens' norm_scaling_factor to fold (a release's comes from the registry). */
  readonly normScalingFactor?: string;
  /** RELEASE/ID only: fetch missing files from the hub. */
  readonly download?: boolean;
  /** RELEASE/ID only: branch, tag or commit of the release's repository (default main). */
  readonly revision?: string;
  /** A registry file other than the shipped sae/releases.json. */
  readonly registry?: string;
  readonly json?: boolean;
}

/** Flags of `interp sae list`. */
export interface SaeListFlags {
  readonly model?: string;
  readonly release?: string;
  readonly registry?: string;
  readonly json?: boolean;
}

function positiveNumber(text: string): number {
  const v = Number(text);
  if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`--norm-scaling-factor ${JSON.stringify(text)} is not a positive number`, 'give SAELens\' norm_scaling_factor of the SAE (√d_in / the mean input norm it was trained on)');
  return v;
}

/**
 * Gemma Scope's transcoders read the MLP input with the norm's weight; interp's (and
 * TransformerLens') hook_normalized is before it. Say so once when such an import was not folded.
 */
function noteUnfoldedNorm(sae: Sae): void {
  const m = sae.cfg.metadata;
  if (m[INPUT_AFTER_NORM_WEIGHT] !== true || m.interp_input_norm_folded !== undefined || !m.hook_name.endsWith('.hook_normalized')) return;
  process.stderr.write(
    `interp: note: this transcoder was trained on the MLP input after the norm's weight, while ${m.hook_name} is before it (as in TransformerLens); ` +
      'import it with --fold-input-norm MODEL to splice it exactly\n',
  );
}

/** The --json summary of an import, local or by name: where it went and what it is. */
function importSummary(out: string, layout: string, loaded: LoadedSae) {
  const c = loaded.sae.cfg;
  return {
    out: path.resolve(out), layout, source: loaded.source, architecture: c.architecture, d_in: c.d_in, d_sae: c.d_sae, k: c.k, hook: c.metadata.hook_name || null,
    ...(c.d_out !== undefined ? { d_out: c.d_out, hook_out: c.metadata.hook_name_out ?? null } : {}),
  };
}

const registryOf = (file: string | undefined): Registry => (file === undefined ? loadRegistry() : loadRegistry(path.resolve(file)));

/**
 * `interp sae import SRC --out DIR`: SRC an existing path is read in any layout interp knows;
 * anything else is RELEASE/ID of the registry, found in the Hugging Face cache (or, with
 * --download, fetched into it) and written with the registry's hook and model names.
 */
export async function saeImport(src: string, flags: SaeImportFlags): Promise<void> {
  if (fs.existsSync(src)) {
    const releaseOnly = (['download', 'revision', 'registry'] as const).filter((f) => flags[f] !== undefined && flags[f] !== false);
    if (releaseOnly.length > 0) {
      throw new UsageError(`${releaseOnly.map((f) => `--${f}`).join(', ')} ${releaseOnly.length === 1 ? 'applies' : 'apply'} to RELEASE/ID, not to a local path (${src})`, `drop ${releaseOnly.length === 1 ? 'it' : 'them'}, or give RELEASE/ID (\`interp sae list\` shows the releases)`);
    }
    const r = importSae(src, flags.out, {
      ...(flags.foldInputNorm !== undefined ? { foldInputNorm: await openWeightsSource(flags.foldInputNorm) } : {}),
      ...(flags.normScalingFactor !== undefined ? { normScalingFactor: positiveNumber(flags.normScalingFactor) } : {}),
      ...(flags.hook !== undefined ? { hook: flags.hook } : {}),
      ...(flags.hookOut !== undefined ? { hookOut: flags.hookOut } : {}),
      ...(flags.model !== undefined ? { model: flags.model } : {}),
    });
    noteUnfoldedNorm(r.sae);
    const c = r.sae.cfg;
    const summary = importSummary(flags.out, r.layout, r);
    if (flags.json) printJson(summary);
    else process.stdout.write(`imported ${r.layout} ${c.architecture} SAE ${c.d_in}→${c.d_sae} from ${r.source} into ${summary.out}\n`);
    return;
  }
  if (flags.normScalingFactor !== undefined) {
    throw new UsageError(`--norm-scaling-factor applies to a local SAE folder, not to RELEASE/ID (${src})`, 'drop it: a release\'s norm_scaling_factor comes from the registry');
  }
  const { loaded, resolved } = await importReleaseSae(src, flags.out, {
    ...(flags.foldInputNorm !== undefined ? { foldInputNorm: await openWeightsSource(flags.foldInputNorm) } : {}),
    registry: registryOf(flags.registry),
    ...(flags.hook !== undefined ? { hook: flags.hook } : {}),
    ...(flags.hookOut !== undefined ? { hookOut: flags.hookOut } : {}),
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(flags.download !== undefined ? { download: flags.download } : {}),
    ...(flags.revision !== undefined ? { revision: flags.revision } : {}),
  });
  noteUnfoldedNorm(loaded.sae);
  const c = loaded.sae.cfg;
  const p = resolved.provenance;
  const summary = {
    ...importSummary(flags.out, resolved.release.layout, loaded),
    model: c.metadata.model_name || null,
    release: p.release, sae_id: p.sae_id, repo_id: p.repo_id, revision: p.revision, path: p.path,
  };
  if (flags.json) printJson(summary);
  else {
    process.stdout.write(
      `imported ${p.release}/${p.sae_id} (${p.repo_id}@${p.revision.slice(0, 10)}, ${resolved.release.layout}): ` +
        `${c.architecture} SAE ${c.d_in}→${c.d_sae} at ${summary.hook ?? '(no hook)'} into ${summary.out}\n`,
    );
  }
}

/** One row of `interp sae list`. */
interface ReleaseRow {
  readonly name: string;
  readonly model: string;
  readonly layout: string;
  readonly saes: number;
  readonly repo_id: string;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function releasesFor(registry: Registry, model: string | undefined): Release[] {
  const all = [...registry.releases.values()];
  return model === undefined ? all : all.filter((r) => isReleaseForModel(r, model));
}

/**
 * `interp sae list [--model M] [--release R]`: the registry's releases (name, model, layout,
 * number of SAEs, repository), those of one model, or the SAEs of one release (id, hook, l0,
 * Neuronpedia id).
 */
export function saeList(flags: SaeListFlags): void {
  const registry = registryOf(flags.registry);
  if (flags.release !== undefined) {
    const release = findRelease(flags.release, registry);
    if (flags.model !== undefined && !isReleaseForModel(release, flags.model)) {
      throw new UsageError(`release ${release.name} is for model ${release.model}, not ${flags.model}`, `drop --model, or see \`interp sae list --model ${flags.model}\``);
    }
    const saes = release.saes.map((s) => ({
      id: s.id, hook: s.hook, ...(s.hook_out !== undefined ? { hook_out: s.hook_out } : {}),
      l0: s.l0 ?? null, neuronpedia: s.neuronpedia ?? null, path: s.path,
    }));
    if (flags.json) {
      printJson({ release: { name: release.name, model: release.model, layout: release.layout, repo_id: release.repo_id, conversion_func: release.conversion_func }, saes });
      return;
    }
    const transcoder = saes.some((s) => s.hook_out !== undefined);
    const header = ['id', 'hook', ...(transcoder ? ['hook_out'] : []), 'l0', 'neuronpedia'];
    const rows = saes.map((s) => [s.id, s.hook, ...(transcoder ? [s.hook_out ?? '-'] : []), s.l0 === null ? '-' : String(s.l0), s.neuronpedia ?? '-']);
    process.stdout.write(`${release.name}: ${release.model}, ${release.layout} layout, ${release.repo_id}\n` + table(header, rows));
    process.stdout.write(`import one with \`interp sae import ${release.name}/ID --out DIR\` (add --download when it is not in the Hugging Face cache)\n`);
    return;
  }
  const rows: ReleaseRow[] = releasesFor(registry, flags.model).map((r) => ({ name: r.name, model: r.model, layout: r.layout, saes: r.saes.length, repo_id: r.repo_id }));
  if (flags.json) {
    printJson({ source: registry.source, ...(flags.model !== undefined ? { model: flags.model } : {}), releases: rows });
    return;
  }
  if (rows.length === 0) {
    const models = [...new Set([...registry.releases.values()].map((r) => r.model))];
    process.stdout.write(`no release in interp's registry is for model ${flags.model}; its models: ${models.join(', ')}\n`);
    return;
  }
  process.stdout.write(table(['release', 'model', 'layout', 'SAEs', 'repository'], rows.map((r) => [r.name, r.model, r.layout, String(r.saes), r.repo_id])));
  process.stdout.write(`${rows.length} releases (SAELens' registry, ${registry.source.repo}@${registry.source.commit}); \`interp sae list --release R\` lists the ids of one\n`);
}
