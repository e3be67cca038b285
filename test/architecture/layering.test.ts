/**
 * The layering rules of .dependency-cruiser.cjs (DESIGN.md's architecture, checked by `npm run
 * lint:deps` in `npm test`) catch what they forbid: a throwaway tree with one deliberate violation
 * per rule is cruised with the project's own rule file, and each violation is reported by name;
 * a type-only cycle is allowed and a runtime one is not.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/fixtures.js';

const run = promisify(execFile);

/** Writes `files` (path → source) under a fresh folder and returns it. */
function tree(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'interp-layering-'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), source);
  }
  writeFileSync(path.join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  return root;
}

/** Rule names dependency-cruiser reports for `root` under the project's rules. */
async function violations(root: string): Promise<{ rule: string; from: string; to: string }[]> {
  const bin = path.join(REPO_ROOT, 'node_modules', '.bin', 'depcruise');
  const dirs = ['src', 'probes', 'sae', 'steering', 'datasets'].filter((d) => existsSync(path.join(root, d)));
  const args = [...dirs, '--config', path.join(REPO_ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json'];
  let stdout: string;
  try {
    ({ stdout } = await run(bin, args, { cwd: root, maxBuffer: 32 << 20 }));
  } catch (error) {
    stdout = (error as { stdout: string }).stdout; // exits non-zero when it finds violations
  }
  const result = JSON.parse(stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
  return result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

describe('layering rules', () => {
  it('report each deliberate violation by its rule', async () => {
    const root = tree({
      'src/errors.ts': 'export class InterpError extends Error {}\n',
      'src/runtime/model.ts': "import { InterpError } from '../errors.js';\nexport const model = InterpError;\n",
      'src/engine/kernel.ts': "import { model } from '../runtime/model.js';\nexport const k = model;\n",
      'src/store/reader.ts': "import { k } from '../engine/kernel.js';\nexport const r = k;\n",
      'src/report/page.ts': "import { model } from '../runtime/model.js';\nexport const p = model;\n",
      'src/cli/options.ts': 'export const flag = 1;\n',
      'src/cli.ts': "import { flag } from './cli/options.js';\nexport const c = flag;\n",
      'probes/data.ts': 'export const rows = 1;\n',
      'probes/index.ts': "export { rows } from './data.js';\n",
      'probes/train.ts': "import { flag } from '../src/cli/options.js';\nexport const t = flag;\n",
      'sae/sparse-probe.ts': "import { rows } from '../probes/data.js';\nimport { rows as ok } from '../probes/index.js';\nexport const s = rows + ok;\n",
      'steering/behavior.ts': "import { mood } from '../datasets/tiny/index.js';\nexport const b = mood;\n",
      'datasets/tiny/index.ts': "import { s } from '../../sae/sparse-probe.js';\nexport const mood = s;\n",
      'src/model/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/model/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'src/model/c.ts': "import type { D } from './d.js';\nexport interface C { d: D }\n",
      'src/model/d.ts': "import type { C } from './c.js';\nexport interface D { c?: C }\n",
      'src/model/up.ts': "import { r } from '../store/reader.js';\nexport const up = r;\n",
    });
    const found = await violations(root);
    const has = (rule: string, from: string, to: string) => found.some((v) => v.rule === rule && v.from === from && v.to === to);
    expect(has('engine-knows-models', 'src/engine/kernel.ts', 'src/runtime/model.ts')).toBe(true);
    expect(has('store-touches-gpu', 'src/store/reader.ts', 'src/engine/kernel.ts')).toBe(true);
    expect(has('report-runs-model', 'src/report/page.ts', 'src/runtime/model.ts')).toBe(true);
    expect(has('imports-application', 'probes/train.ts', 'src/cli/options.ts')).toBe(true);
    expect(has('technique-imports-sibling-internals', 'sae/sparse-probe.ts', 'probes/data.ts')).toBe(true);
    expect(has('technique-imports-sibling-internals', 'sae/sparse-probe.ts', 'probes/index.ts')).toBe(false);
    expect(has('technique-imports-dataset', 'steering/behavior.ts', 'datasets/tiny/index.ts')).toBe(true);
    expect(has('dataset-imports-application', 'datasets/tiny/index.ts', 'sae/sparse-probe.ts')).toBe(true);
    expect(has('model-imports-upward', 'src/model/up.ts', 'src/store/reader.ts')).toBe(true);
    expect(found.some((v) => v.rule === 'no-circular' && v.from === 'src/model/a.ts')).toBe(true);
    expect(found.some((v) => v.rule === 'no-circular' && (v.from === 'src/model/c.ts' || v.from === 'src/model/d.ts'))).toBe(false);
    // src/cli.ts importing src/cli/ is the application layer talking to itself.
    expect(found.some((v) => v.from === 'src/cli.ts')).toBe(false);
  });

  it('find nothing in a tree that keeps the rules', async () => {
    const root = tree({
      'src/errors.ts': 'export class InterpError extends Error {}\n',
      'src/runtime/model.ts': "import { InterpError } from '../errors.js';\nexport const model = InterpError;\n",
      'sae/index.ts': "import { model } from '../src/runtime/model.js';\nexport const s = model;\n",
      'sae/cli.ts': "import { s } from './index.js';\nexport const c = s;\n",
      'datasets/tiny/providers.ts': "import type { s } from '../../sae/index.js';\nexport type T = typeof s;\n",
    });
    expect(await violations(root)).toEqual([]);
  });
});
