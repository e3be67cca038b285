/**
 * The architecture of ../shared/DESIGN.md as rules that dependency-cruiser checks on every
 * `npm test` (`npm run lint:deps`): the CLI → techniques → core, one way. Layers:
 *   application  src/cli.ts, src/bin.ts, src/cli/, src/demo/, src/serve/, and each technique's
 *                command module (sae/cli.ts, probes/command.ts, steering/cli/): the CLI side of a
 *                technique lives beside it but is application code (nothing below imports it)
 *   techniques   probes/, sae/, steering/, patching/ (each with an index.ts)
 *   datasets     datasets/ (providers of labelers, scorers and named datasets, wired by the CLI)
 *   core         the rest of src/: model, runtime, store, engine, report, capture, dataset, util
 */
const TECHNIQUE = '^(probes|sae|steering|patching)/';
const APPLICATION = '^src/(cli|demo|serve)/|^src/(cli|bin)\\.ts$|^(probes|sae|steering|patching)/(cli|command)(\\.ts$|/)';

module.exports = {
  forbidden: [
    {
      name: 'core-imports-technique',
      comment: 'The core (src/ below the application layer) never imports a technique or a dataset: techniques are built on it.',
      severity: 'error',
      from: { path: '^src/', pathNot: APPLICATION },
      to: { path: [TECHNIQUE, '^datasets/'] },
    },
    {
      name: 'imports-application',
      comment: 'Nothing below the CLI imports src/cli, src/demo or src/serve.',
      severity: 'error',
      from: { pathNot: [APPLICATION, '^test/'] },
      to: { path: APPLICATION },
    },
    {
      name: 'technique-imports-dataset',
      comment: 'A technique (its command module too) never imports a dataset: datasets provide labelers, scorers and named datasets through interfaces the technique defines, registered by src/cli.',
      severity: 'error',
      from: { path: TECHNIQUE },
      to: { path: '^datasets/' },
    },
    {
      name: 'dataset-imports-application',
      comment: 'A dataset implements the techniques\' interfaces; it may import their index.ts and the core, never a technique\'s internals.',
      severity: 'error',
      from: { path: '^datasets/' },
      to: { path: TECHNIQUE, pathNot: '^(probes|sae|steering|patching)/index\\.ts$' },
    },
    {
      name: 'technique-imports-sibling-internals',
      comment: 'A technique imports a sibling technique only through its index.ts.',
      severity: 'error',
      from: { path: '^(probes|sae|steering|patching)/' },
      to: { path: TECHNIQUE, pathNot: ['^$1/', '^(probes|sae|steering|patching)/index\\.ts$'] },
    },
    {
      name: 'engine-knows-models',
      comment: 'The GPU engine knows tensors and kernels, never models, the runtime, the store or reports.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/(model|runtime|store|report|capture|dataset)/' },
    },
    {
      name: 'store-touches-gpu',
      comment: 'The activation store never touches the GPU engine or the runtime.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(engine|runtime)/' },
    },
    {
      name: 'report-runs-model',
      comment: 'Reports render data and never run a model or the GPU engine.',
      severity: 'error',
      from: { path: '^src/report/' },
      to: { path: '^src/(runtime|engine|capture)/' },
    },
    {
      name: 'model-imports-upward',
      comment: 'src/model (checkpoints, tokenizers) is the bottom of the core: it imports only errors and versions.',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { path: '^src/(runtime|store|engine|report|capture|dataset)/' },
    },
    {
      name: 'no-circular',
      comment: 'Runtime import cycles make initialisation order fragile and the layering unreadable. A cycle closed only by `import type` (a module naming the type of what calls it) has no runtime edge and is allowed.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
