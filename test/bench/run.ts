/**
 * `npm run bench -- NAME [--json] [args...]` runs test/bench/NAME.ts and prints its rows as a
 * table, or with --json one JSON object per line. Benchmarks are never timed assertions: they
 * measure interp against a peer (PyTorch + OpenBLAS, scikit-learn) in the same run.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchRun } from './types.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'types.ts'].includes(f) && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));

const args = process.argv.slice(2);
const json = args.includes('--json');
const rest = args.filter((a) => a !== '--json');
const name = rest.shift();
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [--json]\n  NAME is one of: ${available.join(', ') || '(none yet)'}`);
  process.exit(2);
}
const modulePath = new URL(`./${name}.ts`, import.meta.url);
if (!existsSync(fileURLToPath(modulePath))) process.exit(2);
const { run } = (await import(modulePath.href)) as { run: BenchRun };

const fmt = (v: number | null): string => (v === null ? '-' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
if (!json) console.log(['case', 'metric', 'value', 'unit', 'peer', 'peer_value', 'ratio'].join('\t'));
for await (const row of run(rest) as AsyncIterable<BenchRow>) {
  if (json) console.log(JSON.stringify(row));
  else console.log([row.case, row.metric, fmt(row.value), row.unit, row.peer ?? 'MISSING PEER', fmt(row.peer_value), row.ratio === null ? '-' : `${fmt(row.ratio)}x`].join('\t'));
}
