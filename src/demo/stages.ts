/**
 * The stages of `interp demo`: the commands a newcomer would type to take the embedded TinyWorld
 * model through the whole toolkit, in order. Each stage is an `interp` command line that ends in
 * --json; the demo runs them as they are written here and the overview page shows them, so a
 * reader can re-run any stage by hand.
 */
import * as path from 'node:path';

/** How much work each stage does: `full` is the real demo, `quick` a one-minute smoke run. */
export type DemoScale = 'full' | 'quick';

export interface DemoStage {
  /** Key in demo.json and in the overview. */
  readonly name: StageName;
  /** One line shown before the stage runs. */
  readonly title: string;
  /** Arguments after `interp`; paths are absolute. */
  readonly args: readonly string[];
}

export const STAGE_NAMES = ['capture-probe-set', 'train-probe', 'capture-corpus', 'train-sae', 'capture-species', 'sae-probe-mood', 'sae-probe-species', 'vector', 'steer'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** The middle layer the SAE reads (TinyWorld has 4 blocks) and the layer the steering vector is added at. */
export const SAE_HOOK = 'blocks.2.hook_resid_post';
export const STEER_HOOK = 'blocks.3.hook_resid_post';
const PROBE_HOOKS = [0, 1, 2, 3].map((l) => `blocks.${l}.hook_resid_post`);

/**
 * Per-scale knobs. The full SAE is sae/README.md's demo recipe: 1,024 latents, k 16 and a high
 * learning rate reach held-out EV ≈ 0.96 in 97 steps on 400k corpus tokens, where the default
 * width and settings need 2M tokens (about 7 minutes here) for EV 0.95. `quick` trades every
 * figure's quality for time and is meant for tests.
 */
const SCALE = {
  full: { corpusTokens: 400_000, sae: ['--k', '16', '--width', '1024', '--lr', '2e-3', '--tokens', '397312'], sweep: '0:1x-norm:6', prompts: 100, neutral: 64 },
  quick: { corpusTokens: 60_000, sae: ['--k', '16', '--width', '1024', '--lr', '2e-3', '--tokens', '57344'], sweep: '0:1x-norm:3', prompts: 16, neutral: 8 },
} as const;

/** Where each stage writes, under the demo folder. */
export function demoPaths(out: string) {
  const runs = path.join(out, 'runs');
  return {
    runs,
    reports: path.join(out, 'reports'),
    probeSet: path.join(runs, 'mood'),
    speciesSet: path.join(runs, 'species'),
    probes: path.join(runs, 'mood-probe'),
    corpus: path.join(runs, 'corpus'),
    sae: path.join(runs, 'sae'),
    vector: path.join(runs, 'happy-sad'),
    steer: path.join(runs, 'steer'),
  };
}

export function demoStages(model: string, out: string, scale: DemoScale): DemoStage[] {
  const p = demoPaths(out);
  const s = SCALE[scale];
  const common = ['--reports', p.reports, '--json'];
  return [
    {
      name: 'capture-probe-set',
      title: 'capture the mood probe set at every layer (one row per labelled token)',
      args: ['capture', '--model', model, '--dataset', 'tinyworld:mood', '--positions', 'pos', '--hooks', PROBE_HOOKS.join(','), '--out', p.probeSet, ...common],
    },
    {
      name: 'train-probe',
      title: 'train a linear mood probe per layer (layer sweep, shuffled-label control)',
      args: ['train-probe', '--capture', p.probeSet, '--label', 'label', '--out', p.probes, ...common],
    },
    {
      name: 'capture-corpus',
      title: `capture the story corpus at the middle layer (${SAE_HOOK})`,
      args: ['capture', '--model', model, '--dataset', 'tinyworld:corpus', '--hooks', SAE_HOOK, '--out', p.corpus,
        ...(s.corpusTokens === null ? [] : ['--max-tokens', String(s.corpusTokens)]), ...common],
    },
    {
      name: 'train-sae',
      title: 'train a TopK sparse autoencoder on it, with CE-loss score and the attribute table',
      args: ['train-sae', '--capture', p.corpus, '--hook', SAE_HOOK, '--arch', 'topk', ...s.sae, '--model', model, '--out', p.sae, ...common],
    },
    {
      name: 'capture-species',
      title: `capture the species probe set at the SAE's layer (${SAE_HOOK})`,
      args: ['capture', '--model', model, '--dataset', 'tinyworld:species', '--positions', 'pos', '--hooks', SAE_HOOK, '--out', p.speciesSet, ...common],
    },
    {
      name: 'sae-probe-mood',
      title: 'which single SAE latent picks out each mood on the mood probe set (1-sparse probing)',
      args: ['sae', 'sparse-probe', '--sae', p.sae, '--capture', p.probeSet, '--hook', SAE_HOOK, '--label', 'label', '--json'],
    },
    {
      name: 'sae-probe-species',
      title: 'which single SAE latent picks out each species on the species probe set',
      args: ['sae', 'sparse-probe', '--sae', p.sae, '--capture', p.speciesSet, '--hook', SAE_HOOK, '--label', 'label', '--json'],
    },
    {
      name: 'vector',
      title: `build the happy − sad steering vector from contrastive pairs at ${STEER_HOOK}`,
      args: ['vector', '--model', model, '--pairs', 'tinyworld:pairs-happy-sad', '--hook', STEER_HOOK, '--position', 'from-first-difference', '--out', p.vector, '--json'],
    },
    {
      name: 'steer',
      title: 'steer sad story openings towards happy: a coefficient sweep against its cost, with a random-vector control',
      args: ['steer', '--model', model, '--vector', p.vector, '--prompts', 'tinyworld:sad-openings', '--max-prompts', String(s.prompts),
        '--neutral', 'tinyworld:neutral', '--max-neutral', String(s.neutral), '--sweep', s.sweep, '--control',
        '--behavior', 'tinyworld:mood=happy', '--out', p.steer, ...common],
    },
  ];
}
